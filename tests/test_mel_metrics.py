"""Mel-domain metrics calibrated on synthetic log-mels whose structure and detail are known.

An utterance is structure (piecewise-constant "phones" with smooth spectral envelopes, what a
conditional mean can reach) plus detail (fast, bin-correlated variation, what only a sample
has). A smoothed copy stands for a mean-like output; a sharp copy at the same squared distance
keeps the structure and redraws part of the detail: S + rho * D + sqrt(1 - rho^2) * D'.
"""

from __future__ import annotations

import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d, uniform_filter1d
from scipy.optimize import brentq

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import mel_metrics as mm

N_MELS = 80
FAST = mm.MelMetricSettings(n_bootstrap=50)


def _structure(rng: np.random.Generator, frames: int) -> np.ndarray:
    phones, start = [], 0
    while start < frames:
        length = int(rng.integers(6, 16))
        envelope = gaussian_filter1d(rng.normal(-5.0, 2.0, N_MELS), 4.0) * 2.0
        phones.append(np.repeat(envelope[:, None], length, axis=1))
        start += length
    return np.concatenate(phones, axis=1)[:, :frames]


def _detail(rng: np.random.Generator, frames: int) -> np.ndarray:
    return gaussian_filter1d(rng.normal(0.0, 1.0, (N_MELS, frames)), 2.0, axis=0) * 2.0


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    lengths = rng.integers(150, 260, 12)
    structure = [_structure(rng, n) for n in lengths]
    detail = [_detail(rng, n) for n in lengths]
    other = [_detail(rng, n) for n in lengths]  # a second take's detail
    reference = [s + d for s, d in zip(structure, detail)]
    return {"structure": structure, "detail": detail, "other": other, "reference": reference}


def _mse(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.mean(np.concatenate([((x - y) ** 2).ravel() for x, y in zip(a, b)])))


def _scores(reference: list[np.ndarray], generated: list[np.ndarray]) -> dict[str, float]:
    per_utterance = [mm.compare_mels(r, g, FAST) for r, g in zip(reference, generated)]
    scores = {name: float(np.mean([u[name] for u in per_utterance]))
              for name in ("mel_mcd_db", "gv_ratio", "roughness_ratio")}
    scores["mel_fd"] = mm.mel_frechet_distance(reference, generated, FAST)["mean"]
    return scores


def test_identical_mels_score_zero_and_ratios_one(corpus: dict) -> None:
    reference = corpus["reference"]
    scores = _scores(reference, reference)
    assert scores["mel_mcd_db"] == pytest.approx(0.0, abs=1e-9)
    assert scores["mel_fd"] == pytest.approx(0.0, abs=1e-6)
    assert scores["gv_ratio"] == pytest.approx(1.0)
    assert scores["roughness_ratio"] == pytest.approx(1.0)


def test_growing_noise_grows_every_metric(corpus: dict) -> None:
    reference = corpus["reference"]
    rng = np.random.default_rng(1)
    rows = [_scores(reference, [m + sigma * rng.standard_normal(m.shape) for m in reference])
            for sigma in (0.1, 0.3, 1.0)]
    for name in ("mel_mcd_db", "mel_fd", "gv_ratio", "roughness_ratio"):
        values = [row[name] for row in rows]
        assert values == sorted(values) and values[0] < values[-1], (name, values)
    assert rows[0]["gv_ratio"] > 1.0 and rows[0]["roughness_ratio"] > 1.0
    assert rows[0]["mel_fd"] > 0.0


def test_smoothed_copy_is_worse_than_an_equally_distant_sharp_copy(corpus: dict) -> None:
    reference, structure = corpus["reference"], corpus["structure"]
    smoothed = [uniform_filter1d(m, 5, axis=1, mode="nearest") for m in reference]
    distance = _mse(reference, smoothed)

    def sharp(rho: float) -> list[np.ndarray]:
        return [s + rho * d + np.sqrt(1 - rho**2) * o
                for s, d, o in zip(structure, corpus["detail"], corpus["other"])]

    rho = brentq(lambda r: _mse(reference, sharp(r)) - distance, 0.0, 1.0)
    sharp_copy = sharp(rho)
    assert _mse(reference, sharp_copy) == pytest.approx(distance)
    smooth, crisp = _scores(reference, smoothed), _scores(reference, sharp_copy)
    assert smooth["mel_fd"] > 5 * crisp["mel_fd"]
    assert smooth["gv_ratio"] < 0.9 and abs(crisp["gv_ratio"] - 1) < 0.05
    assert smooth["roughness_ratio"] < 0.5 and abs(crisp["roughness_ratio"] - 1) < 0.1


def test_mcd_units_gain_and_dtw() -> None:
    rng = np.random.default_rng(2)
    mel = _structure(rng, 120) + _detail(rng, 120)
    # log-mel + 2 c cos(pi k (2n+1) / 2N) moves cepstral coefficient k by exactly c
    bins = np.arange(N_MELS)
    c = 0.1
    shifted = mel + 2 * c * np.cos(np.pi * 3 * (2 * bins + 1) / (2 * N_MELS))[:, None]
    expected = 10 / np.log(10) * np.sqrt(2) * c
    assert mm.log_mel_mcd(mel, shifted) == pytest.approx(expected, rel=1e-9)
    assert mm.log_mel_mcd(mel, mel + 3.0) == pytest.approx(0.0, abs=1e-9)  # c0: gain
    stretched = np.repeat(mel, 2, axis=1)  # every frame twice: exact DTW absorbs it
    assert mm.log_mel_mcd(mel, stretched) == pytest.approx(0.0, abs=1e-9)
    # training's monitor: the same number, aligned by fastdtw (no numba compilation)
    assert mm.log_mel_mcd(mel, shifted, exact=False) == pytest.approx(expected, rel=1e-9)
    assert mm.log_mel_mcd(mel, stretched, exact=False) == pytest.approx(0.0, abs=1e-9)
    other = _structure(rng, 90) + _detail(rng, 90)
    assert mm.log_mel_mcd(mel, other, exact=False) == pytest.approx(
        mm.log_mel_mcd(mel, other), rel=0.1)
    assert mm.compare_mels(mel, stretched)["mel_frames_ratio"] == 2.0


def test_roughness_is_temporal_and_gv_per_bin() -> None:
    rng = np.random.default_rng(4)
    static = np.repeat(rng.normal(-5.0, 3.0, (N_MELS, 1)), 50, axis=1)  # rough across bins only
    assert mm.roughness(static) == 0.0
    alternating = np.tile([[0.0, 2.0]], (N_MELS, 25))
    assert mm.roughness(alternating) == pytest.approx(4.0)
    alternating[40:] *= 2.0  # bins of different variance (1 and 4)
    louder = alternating.copy()
    louder[:40] *= 3.0  # variance x9 in half the bins: the per-bin ratios average to 5
    assert mm.global_variance_ratio(alternating, louder) == pytest.approx(5.0)  # not 520 / 200


def test_mel_fd_projects_on_the_leading_components() -> None:
    """One high-variance bin; the generated set halves its spread. On the leading component the
    Fréchet distance is (sigma_ref - sigma_gen)^2 = (10 - 5)^2; elsewhere it would be ~0."""
    rng = np.random.default_rng(5)
    reference = [rng.normal(0.0, 1e-3, (N_MELS, 2000)) for _ in range(2)]
    for mel in reference:
        mel[0] = rng.normal(0.0, 10.0, mel.shape[1])
    generated = [m.copy() for m in reference]
    for mel in generated:
        mel[0] *= 0.5
    settings = mm.MelMetricSettings(patch_frames=1, fd_dims=1, n_bootstrap=0)
    assert mm.mel_frechet_distance(reference, generated, settings)["mean"] == pytest.approx(25.0, rel=0.1)


def test_mel_fd_interval_and_projection(corpus: dict) -> None:
    reference = corpus["reference"]
    rng = np.random.default_rng(3)
    noisy = [m + 0.5 * rng.standard_normal(m.shape) for m in reference]
    result = mm.mel_frechet_distance(reference, noisy, FAST)
    assert result["n"] == 12 and result["pca_dims"] == 128
    assert 0.9 < result["pca_variance"] < 1.0
    assert 0 < result["ci95"] < result["mean"]
    single = mm.mel_frechet_distance(reference[:1], noisy[:1], FAST)
    assert single["ci95"] is None and single["mean"] > 0  # one utterance: no interval
    with pytest.raises(UserInputError, match="shorter than"):
        mm.patches(np.zeros((N_MELS, 3)), 5)


def test_mel_fd_accumulates_patches_per_utterance() -> None:
    """500 LJSpeech test sentences made 3.4 GB of pooled patches and their copies; the moments
    are now summed one utterance at a time, to the same distance as the pooled computation."""
    rng = np.random.default_rng(7)
    reference = [rng.normal(-5, 2, (N_MELS, int(n))) for n in rng.integers(30, 60, 6)]
    generated = [m + 0.7 * rng.standard_normal(m.shape) for m in reference]
    result = mm.mel_frechet_distance(reference, generated, mm.MelMetricSettings(n_bootstrap=20,
                                                                                fd_dims=32))
    # the pooled computation (np.cov of every patch at once) before the change gave these
    assert result["mean"] == pytest.approx(0.9532459569807088, rel=1e-9)
    assert result["std"] == pytest.approx(0.38696525833336787, rel=1e-9)
    assert result["pca_variance"] == pytest.approx(0.2996346526555429, rel=1e-9)

    reference = [rng.normal(-5, 2, (N_MELS, 400)) for _ in range(20)]
    generated = [m + rng.standard_normal(m.shape) for m in reference]
    pooled_bytes = sum(m.shape[1] - 4 for m in reference) * N_MELS * 5 * 8  # one side, float64
    tracemalloc.start()
    try:
        mm.mel_frechet_distance(reference, generated, mm.MelMetricSettings(n_bootstrap=2))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.6 * pooled_bytes  # pooled: 4 times this


def test_evaluate_mel_folders(tmp_path: Path, corpus: dict) -> None:
    ref_dir, gen_dir = tmp_path / "dump_mels", tmp_path / "synth"
    ref_dir.mkdir()
    gen_dir.mkdir()
    for i, mel in enumerate(corpus["reference"][:4]):
        np.save(ref_dir / f"u{i}.npy", mel.astype(np.float32))
    np.save(ref_dir / "train_only.npy", corpus["reference"][5].astype(np.float32))
    for i in range(3):
        np.save(gen_dir / f"u{i}.npy", corpus["structure"][i].astype(np.float32))
    np.save(gen_dir / "orphan.npy", corpus["structure"][4].astype(np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = mm.evaluate_mel_folders(ref_dir, gen_dir, settings=FAST)
    assert "orphan" in str(caught[0].message)
    assert sorted(result["utterances"]) == ["u0", "u1", "u2"]
    assert result["missing_reference_mels"] == ["orphan"]
    summary = result["summary"]
    assert summary["gv_ratio"]["n"] == 3 and summary["gv_ratio"]["mean"] < 0.9  # structure only
    assert summary["mel_fd"]["n"] == 3 and summary["mel_fd"]["mean"] > 0
    only = mm.evaluate_mel_folders(ref_dir, gen_dir, ids=["u1", "u9"], settings=FAST)
    assert list(only["utterances"]) == ["u1"]
    with pytest.raises(UserInputError, match="--save-mel"):
        mm.evaluate_mel_folders(ref_dir, tmp_path, settings=FAST)
    np.save(gen_dir / "u0.npy", np.full((N_MELS, 10), np.nan, np.float32))
    with pytest.raises(UserInputError, match="NaN"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the orphan again
        mm.evaluate_mel_folders(ref_dir, gen_dir, settings=FAST)
