"""The toolkit's one home for means with 95 % intervals: per-utterance scores, paired
differences between two systems on the same sentences, and the corpus WER.

Every table (evaluation, report, tuning, contest, listening tests) reads its intervals from
here, so that a ± means the same thing everywhere: the half-width of a Student-t interval with
utterances (or ratings) as the sampling unit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def t_half_width(standard_error: float, n: int, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Student-t interval of a mean from `n` values with this standard error."""
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * standard_error)


def mean_ci95(values: list[float]) -> dict[str, float | int | None]:
    """Mean, sample std and half-width of the 95 % t-interval (None when n < 2)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    array = np.asarray(values, dtype=np.float64)
    if n == 1:
        return {"mean": float(array[0]), "std": None, "ci95": None, "n": 1}
    std = float(array.std(ddof=1))
    return {"mean": float(array.mean()), "std": std, "ci95": t_half_width(std / math.sqrt(n), n),
            "n": n}


def paired_difference(metrics: dict, baseline: dict, key: str) -> dict[str, float | int | None]:
    """`mean_ci95` of the per-utterance differences metrics - baseline in `key` over the
    utterances both scored: two systems judged on the same sentences are compared by it, where
    their own intervals (sentence variance included) overlap for a 0.04 P.808 gain.

    WER is compared as the corpus WER is computed (word errors over reference words): the
    per-sentence word-error differences over the mean reference length, whose mean is the
    difference of the two corpus WERs, not of the sentence-averaged ones."""
    ours, theirs = metrics.get("utterances") or {}, baseline.get("utterances") or {}
    field = "word_errors" if key == "wer" else key
    shared = [u for u in sorted(set(ours) & set(theirs))
              if all(isinstance(row.get(field), (int, float)) for row in (ours[u], theirs[u]))]
    differences = np.array([ours[u][field] - theirs[u][field] for u in shared], dtype=np.float64)
    if key == "wer" and shared:
        differences /= np.mean([ours[u]["reference_words"] for u in shared])
    return mean_ci95(differences.tolist())


def corpus_wer(errors: list[int], words: list[int]) -> dict[str, float | int | None]:
    """Corpus WER = sum of errors / sum of reference words, with a 95 % interval.

    The corpus WER is the per-utterance WERs' mean weighted by reference words. Its interval is
    the ratio estimator's delta-method one (utterances as the sampling unit, t quantile):
    se^2 = n / (n - 1) * sum_i (e_i - WER * w_i)^2 / (sum_i w_i)^2.
    `utterance_mean` is the unweighted mean of the per-utterance WERs.
    """
    e, w = np.asarray(errors, dtype=np.float64), np.asarray(words, dtype=np.float64)
    keep = w > 0
    e, w = e[keep], w[keep]
    n = int(e.size)
    if n == 0:
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    wer = float(e.sum() / w.sum())
    ci95 = None
    if n > 1:
        se = math.sqrt(n / (n - 1) * float(np.sum((e - wer * w) ** 2))) / float(w.sum())
        ci95 = t_half_width(se, n)
    return {
        "mean": wer,
        "std": None,
        "ci95": ci95,
        "n": n,
        "word_errors": int(e.sum()),
        "reference_words": int(w.sum()),
        "utterance_mean": float(np.mean(e / w)),
    }
