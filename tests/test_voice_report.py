"""benchmarks/voice_report.py on an experiment folder the test lays out: the comparison, the
learning curve with each checkpoint's CPU-hours, the tuning rule's choice, CSVs and the plot."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch

from tts_ebm import sampler_config
from tts_ebm.controls import SynthesisControls

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def _report():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("voice_report", BENCHMARKS / "voice_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _judged(folder: Path, wer: float, p808: float, distill: float) -> None:
    utterances = {f"u{i}": {"dnsmos_p808": p808 + 0.01 * i, "distill_mos": distill + 0.01 * i,
                            "word_errors": 1, "reference_words": 10} for i in range(3)}
    summary = {"wer": {"mean": wer, "ci95": 0.05}, "dnsmos_p808": {"mean": p808, "ci95": 0.02},
               "distill_mos": {"mean": distill, "ci95": 0.02}}
    (folder / "eval").mkdir(parents=True)
    (folder / "eval" / "metrics.json").write_text(
        json.dumps({"summary": summary, "utterances": utterances}))


def test_the_report_reads_every_stage_and_chooses_by_the_tuning_rule(tmp_path, monkeypatch,
                                                                     capsys):
    exp = tmp_path / "voice"
    compare = exp / "compare" / "b8_lr2e-3"
    _judged(compare / "K0", 0.9, 3.1, 1.5)
    (compare / "train_summary.json").write_text(json.dumps(
        {"steps": 682, "cpu_hours_total": 0.1615, "final_val": {"val/loss": 3.34}}))
    for step, hours in ((1000, 0.25), (2000, 0.5)):
        checkpoints = exp / "train" / "checkpoints"
        checkpoints.mkdir(parents=True, exist_ok=True)
        torch.save({"callbacks": {"TrainingClock": {"cpu_seconds": hours * 3600,
                                                    "wall_seconds": 1.0}}},
                   checkpoints / f"step{step:08d}.ckpt")
        _judged(exp / "curve" / str(step) / "K0", 0.5, 3.0, 2.0)
        _judged(exp / "curve" / str(step) / "K2", 0.5, 3.1, 2.1)
    _judged(exp / "curve" / "copy_synthesis", 0.2, 3.9, 3.6)
    # WER tie within 0.05: K2_tau0 and K4_tau0; K4 has the higher mean of the two judges
    for name, steps, wer, p808, distill in (("K0", 0, 0.30, 3.0, 2.0),
                                            ("K2_tau0", 2, 0.30, 3.2, 2.2),
                                            ("K4_tau0", 4, 0.33, 3.3, 2.3),
                                            ("K1_tau0", 1, 0.40, 3.9, 3.9)):
        _judged(exp / "tune" / name, wer, p808, distill)
        (exp / "tune" / name / "sampler.yaml").write_text(
            f"sampler: {{steps: {steps}, temperature: 0}}\n")
    argv = ["voice_report.py", str(exp), "--csv", str(tmp_path / "csv"), "--plot",
            str(tmp_path / "curve.png"), "--choose", str(tmp_path / "chosen.yaml")]
    monkeypatch.setattr(sys, "argv", argv)
    _report().main()
    out = capsys.readouterr().out
    assert "| b8_lr2e-3 | 682 | 9.7 | 3.34 | 0 | 90.0 ± 5.0 | 3.10 ± 0.02 | 1.50 ± 0.02 |" in out
    assert "| 2000 | 0.50 | 2 | 50.0 ± 5.0 | 3.10 ± 0.02 | 2.10 ± 0.02 |" in out
    assert "| copy synthesis | – | – | 20.0 ± 5.0 | 3.90 ± 0.02 | 3.60 ± 0.02 |" in out
    assert "| +0.10 ± 0.00 | +0.10 ± 0.00 |" in out  # K = 2 against μ, sentence by sentence
    assert "chosen: K4_tau0" in out
    chosen = sampler_config.read(tmp_path / "chosen.yaml")
    assert chosen.sampler == SynthesisControls(steps=4, temperature=0)
    assert chosen.variant == "K4_tau0"
    assert (tmp_path / "curve.png").stat().st_size > 10_000
    assert {p.name for p in (tmp_path / "csv").iterdir()} >= {
        "compare_b8_lr2e-3_K0.csv", "curve_1000_K2.csv", "tune_K4_tau0.csv"}
