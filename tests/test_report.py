"""RESULTS.md and figures from a fake experiment tree: ceiling rows first, "–" for what is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import report


def _row(mean: float, ci95: float | None = 0.5) -> dict:
    return {"mean": mean, "ci95": ci95, "std": 1.0, "n": 3}


def _write(path: Path, data: dict | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def _metrics(summary: dict) -> dict:
    return {"summary": summary, "counts": {"evaluated": 3}, "settings": {"mcep_order": 34}}


def _new_style(k: int) -> dict:
    """What today's `tts-ebm evaluate` writes for a model system."""
    return _metrics({
        "wer": {"mean": 0.5 - 0.1 * k, "ci95": 0.05, "n": 3, "word_errors": 9,
                "reference_words": 30},
        "dnsmos_p808": _row(2.5 + 0.1 * k, 0.25), "distill_mos": _row(2.0 + 0.1 * k, 0.2),
        "mel_fd": _row(40.0 - k, 4.0),
        "mcd_db": _row(7.0), "log_f0_rmse_cents": _row(150.0, 10.0),
        "gross_pitch_error_rate": _row(0.05, 0.01), "vuv_error_rate": _row(0.2, 0.02),
        "gv_ratio": _row(0.8 + 0.05 * k, 0.01), "roughness_ratio": _row(0.5, 0.1),
        "mel_mcd_db": _row(4.0), "duration_ratio": _row(1.05, 0.01),
    }) | {"settings": {"mcep_order": 34, "mel_patch_frames": 5},
          # K4 - K0 per sentence: 0.3, 0.4, 0.5 (paired: +0.40 ± t(0.975, 2) * 0.1 / sqrt 3);
          # Distill-MOS 0.5, 0.4, 0.3
          "utterances": {f"u{i}": {"dnsmos_p808": 2.5 + 0.1 * k + (i - 1) * 0.025 * k,
                                   "distill_mos": 2.0 + 0.1 * k - (i - 1) * 0.025 * k}
                         for i in range(3)}}


@pytest.fixture()
def exp(tmp_path: Path) -> Path:
    exp = tmp_path / "exp"
    _write(exp / "reference" / "eval" / "metrics.json",
           _metrics({"wer": {"mean": 0.21, "ci95": 0.04, "n": 3}, "dnsmos_p808": _row(3.77, 0.1),
                     "distill_mos": _row(4.41, 0.05)}))
    _write(exp / "copy_synthesis" / "synth" / "rtf.json", {"rtf": 0.02, "vocoder_seconds": 0.2})
    _write(exp / "copy_synthesis" / "eval" / "metrics.json",
           _metrics({"wer": {"mean": 0.25, "ci95": 0.05, "n": 3}, "dnsmos_p808": _row(3.33, 0.1),
                     "distill_mos": _row(3.67, 0.15), "mcd_db": _row(6.12, 0.3), "vuv_error_rate": _row(0.1, 0.02)}))
    for k in (0, 4):
        _write(exp / "delta" / f"synth_K{k}" / "rtf.json",
               {"rtf": 0.05, "acoustic_seconds": 0.1 * (k + 1), "vocoder_seconds": 0.2,
                "audio_seconds": 10.0, "steps": k})
        _write(exp / "delta" / f"eval_K{k}" / "metrics.json", _new_style(k))
    _write(exp / "delta" / "train" / "train_summary.json", {"steps": 300, "wall_time_s": 3725.0})
    # an old run: rtf.json without acoustic time, metrics.json without WER, DNSMOS or mel metrics
    _write(exp / "dsm" / "synth_K4" / "rtf.json", {"rtf": 0.04})
    _write(exp / "dsm" / "eval_K4" / "metrics.json",
           _metrics({"mcd_db": _row(7.25), "vuv_error_rate": _row(0.125, None)}))
    (exp / "logs").mkdir()
    return exp


MAIN = "Main comparison (K = 4 inference steps, or a system's only K > 0)"


def _section(text: str, title: str) -> list[str]:
    body = text.split(f"## {title}")[1].split("\n## ")[0]
    return [line for line in body.splitlines() if line.startswith("| ")]


def test_main_table_has_ceiling_rows_first_and_dashes_for_missing(exp: Path) -> None:
    assert report.main(["--exp-dir", str(exp), "--main-steps", "4"]) == 0
    text = (exp / "RESULTS.md").read_text()
    header, *rows = _section(text, MAIN)
    assert header.startswith(
        "| system | K | WER [%] | DNSMOS P.808 | Distill-MOS | mel FD | MCD [dB] |")
    assert header.endswith("| P.808 vs μ | Distill-MOS vs μ | RTF | n |")
    assert [row.split(" | ")[0] for row in rows] == [
        "| reference recordings", "| copy synthesis", "| delta, μ alone", "| delta", "| dsm"]
    assert rows[0] == ("| reference recordings | – | 21.0 ± 4.0 | 3.77 ± 0.10 | 4.41 ± 0.05 | – | – "
                       "| – | – | – | – | – | – | 3 |")
    assert rows[1].startswith("| copy synthesis | – | 25.0 ± 5.0 | 3.33 ± 0.10 | 3.67 ± 0.15 | – "
                              "| 6.12 ± 0.30 |")
    assert rows[1].endswith("| 10.0 ± 2.0 | – | – | 0.020 | 3 |")
    assert rows[2].startswith("| delta, μ alone | 0 | 50.0 ± 5.0 | 2.50 ± 0.25 | 2.00 ± 0.20 |")
    assert rows[2].endswith("| – | – | 0.050 | 3 |")
    assert rows[3] == ("| delta | 4 | 10.0 ± 5.0 | 2.90 ± 0.25 | 2.40 ± 0.20 | 36.00 ± 4.00 "
                       "| 7.00 ± 0.50 | 150.0 ± 10.0 | 5.0 ± 1.0 | 20.0 ± 2.0 | +0.40 ± 0.25 "
                       "| +0.40 ± 0.25 | 0.050 | 3 |")
    assert rows[4] == "| dsm | 4 | – | – | – | – | 7.25 ± 0.50 | – | – | 12.5 | – | – | 0.040 | 3 |"


def test_a_run_judged_at_its_chosen_k_alone_shows_that_k(exp: Path) -> None:
    """recipes/tts.sh --chosen: each system has K = 0 and its tuned K only."""
    for k in (0, 2):
        _write(exp / "fm" / f"eval_K{k}" / "metrics.json", _new_style(k))
    _write(exp / "nce" / "eval_K1" / "metrics.json", _new_style(1))
    _write(exp / "nce" / "eval_K10" / "metrics.json", _new_style(10))
    rows = _section(report.write_report(exp, main_steps=4).read_text(), MAIN)
    assert rows[6].startswith("| fm, μ alone | 0 | 50.0 ± 5.0 |")
    assert rows[7].startswith("| fm | 2 | 30.0 ± 5.0 |") and "| +0.20 ± 0.12 |" in rows[7]
    assert rows[8].startswith("| nce | – | – |")  # two K > 0, neither main_steps: no row to pick


def test_pairs_are_compared_sentence_by_sentence_at_each_main_k(exp: Path) -> None:
    """--pairs A:B: A's main row minus B's per sentence; a system that is not there gives "–"."""
    for k in (0, 2):
        _write(exp / "fm" / f"eval_K{k}" / "metrics.json", _new_style(k))
    assert report.main(["--exp-dir", str(exp), "--main-steps", "4",
                        "--pairs", "delta:fm", "delta:nowhere"]) == 0
    header, *rows = _section((exp / "RESULTS.md").read_text(), "Paired differences between systems")
    assert header == ("| A − B | WER [%] | DNSMOS P.808 | Distill-MOS | MCD [dB] "
                      "| log-F0 RMSE [cents] | n |")
    # delta K4 - fm K2 per sentence: P.808 0.2 + (i - 1) * 0.05, Distill-MOS 0.2 - (i - 1) * 0.05
    assert rows[0] == "| delta − fm | – | +0.20 ± 0.12 | +0.20 ± 0.12 | – | – | 3 |"
    assert rows[1] == "| delta − nowhere | – | – | – | – | – | – |"
    with pytest.raises(SystemExit):  # argparse's usage error names the malformed pair
        report.main(["--exp-dir", str(exp), "--pairs", "delta"])


def test_other_tables_figures_settings(exp: Path) -> None:
    out = report.write_report(exp, main_steps=4)
    text = out.read_text()
    mel = _section(text, "Mel statistics of the acoustic model (no vocoder)")
    assert "| delta | 0 | 40.00 ± 4.00 | 4.00 ± 0.50 | 0.800 ± 0.010 | 0.500 ± 0.100 |" in mel[1]
    assert mel[3] == "| dsm | 4 | – | – | – | – | – |"
    steps = _section(text, "All inference steps")
    assert steps[1].startswith("| reference recordings | – | 21.0 ± 4.0 |")
    assert steps[3].startswith("| delta | 0 | 50.0 ± 5.0 |") and steps[3].endswith("| 0.050 | 0.0100 |")
    assert steps[5].endswith("| 0.040 | – |")  # dsm: no acoustic time recorded
    assert "| delta | 300 | 1:02:05 |" in text
    assert "mel_patch_frames=5" in text  # the richest settings: a model's, with mel settings
    for name in (report.STEPS_PLOT, report.TIME_PLOT):
        assert f"]({name})" in text
        assert (exp / name).read_bytes()[:4] == b"\x89PNG"


def test_missing_and_unreadable_files_are_listed(exp: Path) -> None:
    (exp / "copy_synthesis" / "eval" / "metrics.json").write_text("{truncated")
    (exp / "reference" / "eval" / "metrics.json").unlink()
    (exp / "delta" / "synth_K0" / "rtf.json").unlink()
    with pytest.warns(UserWarning, match="unreadable"):
        text = report.write_report(exp, main_steps=4).read_text()
    rows = _section(text, MAIN)
    assert rows[1].startswith("| reference recordings | – | – |") and rows[1].endswith("| – | – |")
    assert rows[2].startswith("| copy synthesis | – |") and rows[2].endswith("| 0.020 | – |")
    missing = text.split("## Missing")[1]
    assert "reference/eval/metrics.json" in missing
    assert "copy_synthesis/eval/metrics.json (unreadable)" in missing
    assert "delta/synth_K0/rtf.json" in missing


def test_recordings_not_judged_leave_no_row(exp: Path) -> None:
    shutil.rmtree(exp / "reference" / "eval")  # recipe --judge_recordings false
    text = report.write_report(exp, main_steps=4).read_text()
    rows = _section(text, MAIN)
    assert rows[1].startswith("| copy synthesis")
    assert "| reference recordings" not in text
    assert "reference" not in text.split("## Missing")[1]  # not listed as missing either


def test_time_plot_needs_acoustic_time(exp: Path) -> None:
    for k in (0, 4):
        _write(exp / "delta" / f"synth_K{k}" / "rtf.json", {"rtf": 0.05})  # older synthesize
    text = report.write_report(exp, main_steps=4).read_text()
    assert report.TIME_PLOT not in text and not (exp / report.TIME_PLOT).exists()
    assert f"]({report.STEPS_PLOT})" in text


def test_report_without_runs_fails(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "copy_synthesis" / "eval").mkdir(parents=True)  # ceilings alone are no runs
    with pytest.raises(UserInputError, match="no experiment runs"):
        report.write_report(tmp_path)
    assert report.main(["--exp-dir", str(tmp_path / "absent")]) == 2
