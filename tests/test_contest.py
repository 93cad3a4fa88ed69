"""benchmarks/contest.py's verdicts: the equal-size check, the goal check and the reuse of timings
(the parts that decide what the contest claims; training and timing themselves are not run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tts_ebm import sampler_config
from tts_ebm.errors import UserInputError

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "contest.py"
_SPEC = importlib.util.spec_from_file_location("contest", _PATH)
contest = importlib.util.module_from_spec(_SPEC)
sys.modules["contest"] = contest
_SPEC.loader.exec_module(contest)

CONF_DIR = Path(__file__).resolve().parents[1] / "egs" / "mini" / "conf"


def row(system: str, k: int, wall_s: float, wer: float, p808: float) -> dict:
    return {"system": system, "K": k, "wall_s": wall_s, "wer": wer, "wer_ci95": 0.05,
            "dnsmos_p808": p808, "dnsmos_p808_ci95": 0.03, "mel_fd": None, "mcd_db": None}


def test_the_mini_configs_are_equal_in_size_and_a_wider_one_is_refused(tmp_path):
    counts = contest.parameter_counts(CONF_DIR, ["delta", "dsm", "fm"], 0.10)
    assert counts["delta"]["params"] == counts["dsm"]["params"]
    assert abs(counts["fm"]["params"] / counts["delta"]["params"] - 1) < 0.01
    assert counts["fm"]["field"] == "velocity" and counts["delta"]["field"] == "energy"
    for name in ("base", "delta"):
        (tmp_path / f"{name}.yaml").write_text((CONF_DIR / f"{name}.yaml").read_text())
    wide = tmp_path / "fm.yaml"
    wide.write_text((CONF_DIR / "fm.yaml").read_text().replace(
        "model:\n", "model:\n  frame_channels: 256\n"))
    with pytest.raises(UserInputError, match="more than 10% apart"):
        contest.parameter_counts(tmp_path, ["delta", "fm"], 0.10)


def test_the_benchmarks_seven_systems_are_within_one_percent_in_size():
    """Issue 21: every system of the bench (five criteria, the peers' plain ablations) on the
    same backbone, parameter counts within 1 % (the time input of the timed fields: 0.43 %)."""
    names = ["delta", "nce", "ssm", "dsm_nc", "fm_xpred", "dsm", "fm"]
    counts = contest.parameter_counts(CONF_DIR, names, 0.01)
    assert {c["field"] for c in counts.values()} == {"energy", "timed_energy", "velocity",
                                                      "x_prediction"}


def test_equal_time_pairs_take_the_peer_at_the_nearest_wall_time():
    rows = [row("fm", 10, 10.0, wer=0.40, p808=3.0), row("fm", 1, 1.0, wer=0.6, p808=2.5),
            row("fm", 4, 4.0, wer=0.45, p808=2.8),
            row("delta", 1, 3.0, wer=0.45, p808=3.1), row("delta", 2, 5.0, wer=0.39, p808=3.2)]
    every_k = contest.equal_time_lines(rows, ["delta", "fm"], {})
    # delta K=1 (3.0 s) meets fm K=4 (4.0 s: ratio 1.33, nearer than 1 s at 3x); K=2 (5.0 s) too
    assert every_k[2].startswith("| delta | 1 | 3.000 | fm | 4 | 4.000 | 45.0 ± 5.0 / 45.0 ± 5.0 |")
    assert every_k[3].startswith("| delta | 2 | 5.000 | fm | 4 | 4.000 | 39.0 ± 5.0 / 45.0 ± 5.0 |")
    assert len(every_k) == 4
    chosen = contest.equal_time_lines(rows, ["delta", "fm"], {"delta": 2, "fm": 10})
    assert [line.split(" | ")[:6] for line in chosen[2:]] == [
        ["| delta", "2", "5.000", "fm", "4", "4.000"],
        ["| fm", "10", "10.000", "delta", "2", "5.000"]]
    assert contest.parse_chosen(["delta=2", "fm=10"], ["delta", "fm"], [1, 2, 10]) == {
        "delta": 2, "fm": 10}
    for bad in ("dsm=2", "delta=3", "delta"):
        with pytest.raises(UserInputError, match="--chosen"):
            contest.parse_chosen([bad], ["delta", "fm"], [1, 2, 10])


def test_best_rows_pick_the_best_point_estimate_per_direction():
    rows = [row("delta", 1, 1.0, wer=0.5, p808=3.0), row("delta", 4, 4.0, wer=0.3, p808=2.9)]
    best = "\n".join(contest.best_rows(rows, ["delta"]))
    assert "| WER [%] | delta | 4 | 30.0 ± 5.0 | 4.000 |" in best
    assert "| DNSMOS P.808 | delta | 1 | 3.00 ± 0.03 | 1.000 |" in best
    rows[0]["mcd_db"], rows[1]["mcd_db"] = 6.5, 7.5  # lower is better for a distortion too
    rows[0]["mcd_db_ci95"] = rows[1]["mcd_db_ci95"] = 0.25
    assert "| MCD [dB] | delta | 1 | 6.50 ± 0.25 | 1.000 |" in "\n".join(
        contest.best_rows(rows, ["delta"]))


def test_saved_timings_are_reused_only_for_the_same_contest(tmp_path):
    path = tmp_path / "contest.json"
    steps = {"delta": 100, "fm": 213}
    assert contest.saved_timings(path, ["delta"], [1], steps, 2, {}) is None
    timing = {"wall_s": 2.0, "audio_s": 100.0, "rtf": 0.02}
    path.write_text(json.dumps({"steps": steps, "threads": 2, "rows": [
        {"system": "delta", "K": 1, **timing}, {"system": "fm", "K": 1, **timing}]}))
    assert contest.saved_timings(path, ["delta", "fm"], [1], steps, 2, {}) == {
        ("delta", 1): timing, ("fm", 1): timing}
    assert contest.saved_timings(path, ["delta"], [1, 2], steps, 2, {}) is None  # K=2 never timed
    assert contest.saved_timings(path, ["delta"], [1], {**steps, "fm": 200}, 2, {}) is None
    assert contest.saved_timings(path, ["delta"], [1], steps, 1, {}) is None  # other threads
    other_sampler = {"fm": {"sampler": "gd"}}  # timed with the checkpoint's sampler
    assert contest.saved_timings(path, ["delta"], [1], steps, 2, other_sampler) is None


def test_sampler_configs_are_checked_before_anything_runs(tmp_path):
    """Each system's sampler config is read once up front: a typo in a system, a missing file or
    a bad value fails before any timing or synthesis."""
    good = tmp_path / "fm_xpred.yaml"
    sampler_config.write(good, {"steps": 2, "temperature": 0.3}, {}, "base")
    assert contest.parse_sampler_configs([f"fm_xpred={good}"], ["delta", "fm_xpred"]) == {
        "fm_xpred": good}
    bad_value = tmp_path / "bad.yaml"
    bad_value.write_text("sampler: {temperature: -1}\n")
    for pair, words in ((f"nce={good}", "want SYSTEM=FILE"), ("delta=", "want SYSTEM=FILE"),
                        (f"delta={tmp_path / 'none.yaml'}", "sampler config not found"),
                        (f"delta={bad_value}", "temperature")):
        with pytest.raises(UserInputError, match=words):
            contest.parse_sampler_configs([pair], ["delta", "fm_xpred"])


def test_ceiling_is_the_copy_synthesis_means(tmp_path):
    assert contest.read_ceiling(tmp_path) == {}
    metrics = tmp_path / "copy_synthesis" / "eval" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"summary": {"wer": {"mean": 0.25, "ci95": 0.05},
                                               "dnsmos_p808": {"mean": 3.29, "ci95": 0.04}}}))
    assert contest.read_ceiling(tmp_path) == {"wer": 0.25, "dnsmos_p808": 3.29}
