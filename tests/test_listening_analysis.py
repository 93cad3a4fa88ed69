"""Analysis of listening-test results against independently computed statistics."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from tts_ebm.commands import analyze_listening_test as command
from tts_ebm.errors import UserInputError
from tts_ebm.listening import stats
from tts_ebm.listening.analyze import analyze_results

UTTERANCES = [f"u{i}" for i in range(6)]
SYSTEMS = ["good", "bad"]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def key(tmp_path) -> tuple[Path, dict[tuple[str, str], str]]:
    """MUSHRA-style key: page per utterance with a reference and both systems."""
    rows, ids = [], {}
    for i, utt in enumerate(UTTERANCES):
        for j, system in enumerate(["reference", *SYSTEMS]):
            sid = f"s{i}{j}"
            ids[(system, utt)] = sid
            role = "reference" if system == "reference" else "system"
            rows.append([sid, system, role, utt, f"trial{i:02d}", f"/src/{system}/{utt}.wav"])
    header = ["stimulus_id", "system", "role", "utterance_id", "page", "source"]
    return _write_csv(tmp_path / "key.csv", header, rows), ids


def _t_interval(x: np.ndarray) -> tuple[float, float]:
    half = sps.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def test_mos_means_and_t_intervals_match_independent_computation(tmp_path, key):
    key_path, ids = key
    rng = np.random.default_rng(0)
    expected = {s: [] for s in SYSTEMS}
    rows = []
    for listener in range(5):
        for utt in UTTERANCES:
            for system, centre in (("good", 4), ("bad", 2)):
                score = int(np.clip(centre + rng.integers(-1, 2), 1, 5))
                expected[system].append(score)
                rows.append([ids[(system, utt)], f"w{listener}", score])
    results = _write_csv(tmp_path / "crowd.csv", ["stimulus_id", "worker_id", "score"], rows)
    analysis = analyze_results(results, key_path)
    assert analysis.kind == "crowd" and analysis.n_ratings == 60 and analysis.screening is None
    by_name = {s.system: s for s in analysis.summaries}
    for system, scores in expected.items():
        x = np.array(scores, dtype=float)
        low, high = _t_interval(x)
        assert by_name[system].mean == pytest.approx(x.mean())
        assert (by_name[system].ci_low, by_name[system].ci_high) == pytest.approx((low, high))
        assert by_name[system].median == pytest.approx(np.median(x))
    (comparison,) = analysis.comparisons
    assert comparison.test == "wilcoxon" and comparison.n == 30 and comparison.p_holm < 1e-4


def _mushra_rows(ids, bad_listener_ref: float) -> tuple[list[list], dict[str, list[float]]]:
    """Four listeners; L3 rates the hidden reference low on every page."""
    rng = np.random.default_rng(1)
    rows, kept = [], {"good": [], "bad": [], "reference": []}
    for listener in range(4):
        for i, utt in enumerate(UTTERANCES):
            page = f"trial{i:02d}"
            ref = bad_listener_ref if listener == 3 else float(rng.integers(92, 101))
            scores = {
                "reference": ref,
                "good": float(rng.integers(60, 80)),
                "bad": float(rng.integers(20, 40)),
            }
            for system, score in scores.items():
                stimulus = "reference" if system == "reference" else ids[(system, utt)]
                rows.append(["t", f"L{listener}", page, stimulus, score, 900, ""])
                if listener != 3:
                    kept[system].append(score)
            rows.append(["t", f"L{listener}", page, "anchor35", 10, 900, ""])
    return rows, kept


MUSHRA_HEADER = [
    "session_test_id",
    "session_uuid",
    "trial_id",
    "rating_stimulus",
    "rating_score",
    "rating_time",
    "rating_comment",
]


def test_mushra_screening_excludes_the_planted_listener(tmp_path, key):
    key_path, ids = key
    rows, kept = _mushra_rows(ids, bad_listener_ref=40.0)
    results_dir = tmp_path / "results" / "t"
    results_dir.mkdir(parents=True)
    _write_csv(results_dir / "mushra.csv", MUSHRA_HEADER, rows)
    analysis = analyze_results(results_dir, key_path)
    assert analysis.kind == "mushra"
    assert analysis.screening.excluded == {"L3": 1.0} and analysis.screening.checked == 4
    assert analysis.listeners == ["L0", "L1", "L2"]
    by_name = {s.system: s for s in analysis.summaries}
    for system, scores in kept.items():
        x = np.array(scores)
        assert by_name[system].mean == pytest.approx(x.mean())
        assert (by_name[system].ci_low, by_name[system].ci_high) == pytest.approx(_t_interval(x))
        assert by_name[system].median_ci_low <= np.median(x) <= by_name[system].median_ci_high
    assert by_name["anchor35"].n == 18
    assert all("anchor35" not in (c.system_a, c.system_b) for c in analysis.comparisons)
    assert len(analysis.comparisons) == 3  # reference, good, bad


def test_screening_keeps_a_listener_at_the_15_percent_limit():
    from tts_ebm.listening.ratings import Rating

    ratings = [
        Rating("L", "reference", "reference", f"u{i}", f"p{i}", 80.0 if i < 3 else 100.0)
        for i in range(20)
    ]  # 3/20 = 15 %: not more than 15 %
    assert stats.screen_hidden_reference(ratings).excluded == {}
    ratings[3] = Rating("L", "reference", "reference", "u3", "p3", 89.0)  # 4/20 = 20 %
    assert stats.screen_hidden_reference(ratings).excluded == {"L": 0.2}


def test_lss_results_without_listener_ids_use_unpaired_tests(tmp_path, key):
    key_path, ids = key
    rows = [
        ["t", "mos", f" {5 if s == 'good' else 1} ", ids[(s, u)], 1200]
        for u in UTTERANCES
        for s in SYSTEMS
        for _ in range(2)
    ]
    results = _write_csv(
        tmp_path / "lss.csv",
        ["session_test_id", "trial_id", "stimuli_rating", "stimuli", "rating_time"],
        rows,
    )
    analysis = analyze_results(results, key_path)
    assert analysis.kind == "lss" and analysis.listeners == []
    assert {s.system: s.mean for s in analysis.summaries} == {"good": 5.0, "bad": 1.0}
    (comparison,) = analysis.comparisons
    expected = sps.mannwhitneyu([5] * 12, [1] * 12, alternative="two-sided")
    assert comparison.test == "mann-whitney" and comparison.p_value == pytest.approx(
        expected.pvalue
    )


def test_holm_matches_manual_step_down():
    p = [0.01, 0.04, 0.03, 0.2]
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> max(0.09, 0.08)=0.09, 0.2*1 -> 0.2
    assert stats.holm(p) == pytest.approx([0.04, 0.09, 0.09, 0.2])


def test_unknown_stimuli_are_an_error_naming_them(tmp_path, key):
    key_path, ids = key
    rows = [[ids[("good", "u0")], "w1", 4], ["s_nope", "w1", 3], ["s_gone", "w2", 2]]
    results = _write_csv(tmp_path / "crowd.csv", ["stimulus_id", "worker_id", "score"], rows)
    with pytest.raises(UserInputError, match="2 row.*'s_nope'.*'s_gone'"):
        analyze_results(results, key_path)
    mushra = _write_csv(
        tmp_path / "mushra.csv", MUSHRA_HEADER, [["t", "L0", "trial99", "reference", 100, 1, ""]]
    )
    with pytest.raises(UserInputError, match="'reference' \\(page 'trial99'\\)"):
        analyze_results(mushra, key_path)


def test_out_of_range_scores_are_rejected(tmp_path, key):
    key_path, ids = key
    results = _write_csv(
        tmp_path / "crowd.csv",
        ["stimulus_id", "worker_id", "score"],
        [[ids[("good", "u0")], "w1", 7]],
    )
    with pytest.raises(UserInputError, match="crowd.csv:2: score 7 outside 1..5"):
        analyze_results(results, key_path)


def test_command_writes_markdown_json_and_plot(tmp_path, key, capsys):
    key_path, ids = key
    rows, _ = _mushra_rows(ids, bad_listener_ref=100.0)
    results = _write_csv(tmp_path / "mushra.csv", MUSHRA_HEADER, rows)
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    out = tmp_path / "analysis"
    assert (
        command.run(parser.parse_args([str(results), "--key", str(key_path), "--out", str(out)]))
        == 0
    )
    markdown = (out / "results.md").read_text()
    assert "| good | 24 |" in markdown and "0 excluded" in markdown
    assert json.loads((out / "results.json").read_text())["kind"] == "mushra"
    assert (out / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| system | n | mean |" in capsys.readouterr().out
