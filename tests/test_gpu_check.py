"""scripts/gpu_check.sh and its benchmark, on the CPU: the same functions with the tiny preset,
and the one line the script says where there is no CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))  # gpu_check imports its neighbours by name
import gpu_check

TINY = ["--device", "cpu", "--preset", "tiny", "--steps", "1", "--warmup", "1",
        "--batch-size", "2", "--utterances", "4", "--frames", "40", "80",
        "--override", "data.num_workers=0", "--override", "trainer.cpu_threads=1",
        "--seconds", "0.5", "--batch-sizes", "1", "2", "--repeats", "1"]


def test_benchmark_measures_training_and_synthesis_on_cpu(tmp_path: Path, offline_hub,
                                                          capsys) -> None:
    out = tmp_path / "check.json"
    code = gpu_check.main(["--out", str(out), "--criteria", "delta", "--ks", "1", "2",
                           "--peer-ks", "1", *TINY])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads(out.read_text())
    (train,) = [row for row in report["rows"] if row["part"] == "train"]
    assert (train["criterion"], train["batch"], train["precision"]) == ("delta", 2, "32-true")
    assert train["steps_per_s"] > 0 and train["peak_mib"] > 0
    synthesis = [row for row in report["rows"] if row["part"] == "synthesis"]
    assert [(r["criterion"], r["K"], r["batch"]) for r in synthesis] == [
        ("delta", 1, 1), ("delta", 2, 1), ("delta", 1, 2), ("delta", 2, 2),
        ("fm", 1, 1), ("fm", 1, 2)]
    for row in synthesis:
        assert row["audio_s"] == pytest.approx(0.5 * row["batch"], rel=0.3)
        assert row["rtf"] == pytest.approx(row["wall_s"] / row["audio_s"])
    # offline and nothing cached: synthesis's default falls back to the packaged HiFi-GAN
    assert report["environment"]["vocoder"] == "hifigan-lj" and "hifigan-lj" in printed.err
    assert report["ddp"] == "skipped: fewer than 2 GPUs"
    assert report["table"] in printed.out and "| synthesis | fm | 1 | 1 × 2 |" in report["table"]


def test_a_failed_measurement_is_a_row_that_names_it() -> None:
    rows = [{"part": "train", "criterion": "ssm", "devices": 1, "error": "exit 1: CUDA OOM"}]
    assert gpu_check.table(rows).splitlines()[-1].endswith("**exit 1: CUDA OOM**")


def test_script_without_cuda_says_so_in_one_line() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    line = "gpu_check: no CUDA device visible to torch, nothing to check"
    assert done.stdout.splitlines() == [line]
