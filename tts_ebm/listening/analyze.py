"""Analyse listening-test results: screening, per-system scores, pairwise tests, report."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from tts_ebm.listening import stats
from tts_ebm.listening.ratings import GENERATED_ANCHORS, read_key, read_ratings


@dataclass
class Analysis:
    kind: str  # mushra, lss, crowd
    n_ratings: int
    listeners: list[str]
    screening: stats.Screening | None
    summaries: list[stats.Summary]
    comparisons: list[stats.Comparison]


def analyze_results(results: Path, key_path: Path, listener_column: str | None = None) -> Analysis:
    """Join results with the key, screen MUSHRA listeners, summarise and compare systems.

    Pairwise tests cover every rated condition except webMUSHRA's generated 3.5/7 kHz anchors,
    whose place at the bottom is known by construction.
    """
    kind, ratings = read_ratings(results, read_key(key_path), listener_column)
    screening = None
    if kind == "mushra":
        screening = stats.screen_hidden_reference(ratings)
        ratings = [r for r in ratings if r.listener not in screening.excluded]
    summaries = stats.summarise(ratings)
    compared = [s.system for s in summaries if s.system not in GENERATED_ANCHORS]
    return Analysis(
        kind,
        len(ratings),
        sorted({r.listener for r in ratings if r.listener}),
        screening,
        summaries,
        stats.pairwise(ratings, compared) if ratings else [],
    )


def _fmt(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def to_markdown(analysis: Analysis) -> str:
    """Human-readable report: scores table, screening, pairwise tests."""
    mushra = analysis.kind == "mushra"
    d = 1 if mushra else 2
    title = "MUSHRA" if mushra else "MOS (1 Bad … 5 Excellent)"
    lines = [f"# Listening test results: {title}", ""]
    lines.append(
        f"{analysis.n_ratings} ratings from {len(analysis.listeners) or 'unidentified'} listeners"
        + (" (after screening)." if mushra else ".")
    )
    lines += [
        "",
        "| system | n | mean | 95 % CI (t) | median | 95 % CI (bootstrap) |",
        "|---|---:|---:|---|---:|---|",
    ]
    for s in analysis.summaries:
        lines.append(
            f"| {s.system} | {s.n} | {_fmt(s.mean, d)} | [{_fmt(s.ci_low, d)}, {_fmt(s.ci_high, d)}]"
            f" | {_fmt(s.median, d)} | [{_fmt(s.median_ci_low, d)}, {_fmt(s.median_ci_high, d)}] |"
        )
    if analysis.screening is not None:
        sc = analysis.screening
        lines += [
            "",
            "## Listener screening (ITU-R BS.1534-3)",
            "",
            (
                f"Hidden reference rated < {stats.HIDDEN_REFERENCE_MIN:g} in more than "
                f"{stats.HIDDEN_REFERENCE_MAX_FAILS:.0%} of trials excludes a listener; "
                f"{sc.checked} listeners checked, {len(sc.excluded)} excluded."
            ),
        ]
        lines += [
            f"- excluded `{who}`: {share:.0%} of trials"
            for who, share in sorted(sc.excluded.items())
        ]
    if analysis.comparisons:
        lines += [
            "",
            "## Pairwise tests (two-sided, Holm-corrected)",
            "",
            "| A | B | test | n | statistic | p | p (Holm) | significant (0.05) |",
            "|---|---|---|---:|---:|---:|---:|---|",
        ]
        for c in analysis.comparisons:
            lines.append(
                f"| {c.system_a} | {c.system_b} | {c.test} | {c.n} | {c.statistic:.1f} | "
                f"{c.p_value:.3g} | {c.p_holm:.3g} | {'yes' if c.p_holm < 0.05 else 'no'} |"
            )
    return "\n".join(lines) + "\n"


def _json_safe(value: object) -> object:
    """NaN (undefined intervals) -> null, so results.json is strict JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_report(analysis: Analysis, out: Path) -> list[Path]:
    """results.md, results.json and scores.png under `out`."""
    from tts_ebm.listening.plot import plot_scores  # matplotlib only when writing

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(to_markdown(analysis), encoding="utf-8")
    (out / "results.json").write_text(
        json.dumps(_json_safe(asdict(analysis)), indent=2), encoding="utf-8"
    )
    plot_scores(analysis.summaries, analysis.kind, out / "scores.png")
    return [out / "results.md", out / "results.json", out / "scores.png"]
