"""Statistics for listening tests: confidence intervals, screening, pairwise tests."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

from tts_ebm.listening.ratings import Rating
from tts_ebm.statistics import CONFIDENCE, t_half_width

HIDDEN_REFERENCE_MIN = 90.0  # ITU-R BS.1534-3 post-screening
HIDDEN_REFERENCE_MAX_FAILS = 0.15
PAIRED_COVERAGE = 0.8  # share of (listener, utterance) cells that must pair up


@dataclass
class Summary:
    system: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    median: float
    median_ci_low: float
    median_ci_high: float
    std: float


def mean_ci(scores: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student-t interval of the mean; NaN when fewer than two ratings or no spread."""
    if scores.size < 2 or np.ptp(scores) == 0:
        mean = float(np.mean(scores)) if scores.size else float("nan")
        return (mean, mean) if scores.size >= 2 else (float("nan"), float("nan"))
    half = t_half_width(float(stats.sem(scores)), scores.size, confidence)
    return float(scores.mean()) - half, float(scores.mean()) + half


def median_ci(
    scores: np.ndarray, seed: int = 0, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median (MUSHRA scores are bounded and skewed)."""
    if scores.size < 2 or np.ptp(scores) == 0:
        median = float(np.median(scores)) if scores.size else float("nan")
        return (median, median) if scores.size >= 2 else (float("nan"), float("nan"))
    result = stats.bootstrap(
        (scores,),
        np.median,
        confidence_level=confidence,
        n_resamples=2000,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def summarise(ratings: list[Rating]) -> list[Summary]:
    """Per-system mean (t CI) and median (bootstrap CI), best mean first."""
    by_system: dict[str, list[float]] = defaultdict(list)
    for rating in ratings:
        by_system[rating.system].append(rating.score)
    summaries = []
    for system, values in by_system.items():
        scores = np.asarray(values, dtype=float)
        low, high = mean_ci(scores)
        m_low, m_high = median_ci(scores)
        summaries.append(
            Summary(
                system,
                scores.size,
                float(scores.mean()),
                low,
                high,
                float(np.median(scores)),
                m_low,
                m_high,
                float(scores.std(ddof=1)) if scores.size > 1 else 0.0,
            )
        )
    return sorted(summaries, key=lambda s: -s.mean)


@dataclass
class Screening:
    excluded: dict[str, float]  # listener -> share of trials with hidden reference < 90
    checked: int  # listeners that rated a hidden reference


def screen_hidden_reference(ratings: list[Rating]) -> Screening:
    """BS.1534-3: drop listeners rating the hidden reference < 90 in more than 15 % of trials."""
    fails: dict[str, list[bool]] = defaultdict(list)
    for rating in ratings:
        if rating.role == "reference" and rating.listener:
            fails[rating.listener].append(rating.score < HIDDEN_REFERENCE_MIN)
    excluded = {
        listener: float(np.mean(flags))
        for listener, flags in fails.items()
        if np.mean(flags) > HIDDEN_REFERENCE_MAX_FAILS
    }
    return Screening(excluded, len(fails))


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni step-down adjusted p-values (not in scipy; statsmodels is not a
    dependency)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, index in enumerate(np.argsort(p)):
        running = max(running, min(1.0, (p.size - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


@dataclass
class Comparison:
    system_a: str
    system_b: str
    test: str  # "wilcoxon" (paired) or "mann-whitney"
    n: int  # pairs, or ratings a + b
    statistic: float
    p_value: float
    p_holm: float = float("nan")


def _cells(ratings: list[Rating], system: str) -> dict[tuple[str, str], float]:
    """Mean score per (listener, utterance) of one system."""
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for rating in ratings:
        if rating.system == system:
            cells[(rating.listener, rating.utterance)].append(rating.score)
    return {cell: float(np.mean(v)) for cell, v in cells.items()}


def compare(ratings: list[Rating], a: str, b: str) -> Comparison:
    """Wilcoxon signed-rank on (listener, utterance) pairs when the design is paired
    (the same listener rated both systems on the same utterance for most cells),
    otherwise Mann-Whitney U on all ratings; both two-sided."""
    cells_a, cells_b = _cells(ratings, a), _cells(ratings, b)
    shared = sorted(k for k in cells_a.keys() & cells_b.keys() if k[0])
    if shared and len(shared) >= PAIRED_COVERAGE * min(len(cells_a), len(cells_b)):
        diff = np.array([cells_a[k] - cells_b[k] for k in shared])
        if not np.any(diff):
            return Comparison(a, b, "wilcoxon", len(shared), 0.0, 1.0)
        result = stats.wilcoxon(diff)
        return Comparison(
            a, b, "wilcoxon", len(shared), float(result.statistic), float(result.pvalue)
        )
    scores_a = [r.score for r in ratings if r.system == a]
    scores_b = [r.score for r in ratings if r.system == b]
    result = stats.mannwhitneyu(scores_a, scores_b, alternative="two-sided")
    return Comparison(
        a,
        b,
        "mann-whitney",
        len(scores_a) + len(scores_b),
        float(result.statistic),
        float(result.pvalue),
    )


def pairwise(ratings: list[Rating], systems: list[str]) -> list[Comparison]:
    """All pairs of `systems`, Holm-corrected over the family of pairs."""
    comparisons = [compare(ratings, a, b) for a, b in combinations(systems, 2)]
    for comparison, adjusted in zip(comparisons, holm([c.p_value for c in comparisons])):
        comparison.p_holm = adjusted
    return comparisons
