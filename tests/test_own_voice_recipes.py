"""Smoke tests of the "own voice" recipes: a Catalan folder spoken by festival's ona voice through
egs/folder/run.sh (split, check-data, features, a 2-step training, synthesis of the test set),
and a folder with a planted fault that stage 1 stops on, naming the utterance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data_prep.voices import festival

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
needs_ona = pytest.mark.skipif(
    not festival.ONA.file.is_file(), reason="needs festival-ca and festvox-ca-ona-hts"
)


def _env() -> dict[str, str]:
    path = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


def _folder(tmp: Path, n: int = 6) -> Path:
    sentences = tmp / "sentences.txt"
    lines = (REPO / "data_prep" / "resources" / "catalan_sentences.txt").read_text().splitlines()
    sentences.write_text("\n".join(lines[:n]) + "\n")
    out = tmp / "veu"
    subprocess.run(
        [sys.executable, "-m", "data_prep.speak_folder", "--voice", "ca-ona", "--sentences",
         str(sentences), "--out", str(out), "--workers", "1"],
        check=True, cwd=REPO, env=_env(), capture_output=True, timeout=300,
    )
    return out


def _recipe(tmp: Path, data: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(REPO / "egs" / "folder" / "run.sh"), "--data_dir", str(data),
         "--language", "ca", "--n_val", "1", "--n_test", "1", "--dump_dir", str(tmp / "dump"),
         "--exp_dir", str(tmp / "exp"), "--python", sys.executable, *options],
        check=False, env=_env(), capture_output=True, text=True, timeout=1200,
    )


@pytest.mark.slow
@needs_ona
def test_catalan_folder_trains_and_synthesises(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    result = _recipe(
        tmp_path, data, "--stop_stage", "4", "--inference_steps", "0", "--vocoder", "griffin-lim",
        "--train_args", "trainer.max_steps=2 trainer.val_every=2 trainer.ckpt_every=2 "
        "model.preset=tiny data.batch_size=2 data.val_synth=1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 cannot be trained on" in (data / "manifests" / "check_data.txt").read_text()
    assert '"language": "ca"' in (tmp_path / "dump" / "symbols.json").read_text()
    wavs = list((tmp_path / "exp" / "delta" / "synth_K0").glob("*.wav"))
    assert len(wavs) == 1


@pytest.mark.slow
@needs_ona
def test_stage_one_stops_on_a_faulty_folder_naming_the_utterance(tmp_path: Path) -> None:
    data = _folder(tmp_path)
    (data / "wavs" / "utt_0002.wav").unlink()
    result = _recipe(tmp_path, data, "--stop_stage", "1")
    assert result.returncode != 0
    assert "FAULT   utt_0002  missing wav" in result.stderr
    assert not (data / "manifests" / ".done").exists()
