"""Objective metrics (tts_ebm.evaluation.metrics) against cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.metrics import (
    Features,
    MetricSettings,
    compare,
    dtw_path,
    duration_ratio,
    estimate_f0,
    extract_features,
    log_f0_rmse_cents,
    mel_cepstral_distortion,
    vuv_error_rate,
)

SR = 22050
DIO = MetricSettings(f0_method="dio")
ONE_DB = 10 / math.log(10) * math.sqrt(2)  # MCD of one coefficient off by one


def harmonic(f0: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    wav = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8))
    return 0.3 * wav / np.abs(wav).max()


@pytest.fixture(scope="module")
def half_voiced() -> np.ndarray:
    """0.5 s of a 150 Hz harmonic tone, then 0.5 s of faint noise: half the frames voiced."""
    noise = 1e-4 * np.random.default_rng(0).normal(size=SR // 2)
    return np.concatenate([harmonic(150.0, 0.5), noise])


@pytest.mark.parametrize("settings", [MetricSettings(), DIO], ids=["harvest", "dio"])
def test_voicing_of_a_signal_with_a_known_voiced_fraction(half_voiced, settings):
    f0 = estimate_f0(half_voiced, settings)
    assert len(f0) == 1 + len(half_voiced) // 256  # frame i centred at i * hop
    voiced = f0 > 0
    assert voiced.mean() == pytest.approx(0.5, abs=0.07)
    assert np.median(f0[voiced]) == pytest.approx(150.0, abs=1.0)
    half = len(f0) // 2
    assert voiced[1:half - 4].all() and voiced[half + 4:].mean() < 0.1  # the tone, not the noise
    # against an all-voiced track, the V/UV error is the unvoiced fraction
    identity = (np.arange(len(f0)), np.arange(len(f0)))
    assert vuv_error_rate(np.full(len(f0), 150.0), f0, identity) == pytest.approx(
        1 - voiced.mean())
    assert (estimate_f0(harmonic(150.0, 1.0), settings) > 0).mean() > 0.95


def test_compare_on_half_voiced_speech(half_voiced):
    same = compare(half_voiced, half_voiced, DIO)
    n = 1 + len(half_voiced) // 256
    assert same["n_aligned_frames"] == n  # identical signals align on the diagonal
    assert same["mcd_db"] == 0.0 and same["log_f0_rmse_cents"] == 0.0
    assert same["vuv_error_rate"] == 0.0 and same["duration_ratio"] == 1.0
    assert same["n_voiced_both"] == int((estimate_f0(half_voiced, DIO) > 0).sum())
    against_voiced = compare(harmonic(150.0, 1.0), half_voiced, DIO)
    assert 0.3 < against_voiced["vuv_error_rate"] < 0.6
    assert against_voiced["log_f0_rmse_cents"] < 5.0  # the voiced parts share their F0
    shorter = compare(half_voiced, half_voiced[: SR // 4], DIO)
    assert shorter["duration_ratio"] == (SR // 4) / SR


def test_log_f0_rmse_uses_the_path_and_only_pairs_voiced_in_both():
    ref, syn = np.array([100.0, 100.0, 0.0, 200.0]), np.array([200.0, 50.0, 100.0, 200.0])
    identity = (np.arange(4), np.arange(4))
    # pairs 0 (+1 octave), 1 (-1 octave), 3 (same); pair 2 is unvoiced in ref
    assert log_f0_rmse_cents(ref, syn, identity) == pytest.approx(1200 * math.sqrt(2 / 3))
    path = (np.array([0, 0, 3]), np.array([0, 3, 3]))  # (100,200) (100,200) (200,200)
    assert log_f0_rmse_cents(ref, syn, path) == pytest.approx(1200 * math.sqrt(2 / 3))
    path = (np.array([3, 3]), np.array([1, 3]))  # (200,50): -2 octaves, (200,200)
    assert log_f0_rmse_cents(ref, syn, path) == pytest.approx(math.sqrt(2400**2 / 2))
    assert log_f0_rmse_cents(ref, syn, (np.array([2]), np.array([2]))) is None


def test_vuv_error_rate_counts_disagreeing_pairs_on_the_path():
    ref, syn = np.array([100.0, 0.0, 0.0, 120.0]), np.array([0.0, 0.0, 90.0, 130.0])
    assert vuv_error_rate(ref, syn, (np.arange(4), np.arange(4))) == 0.5
    path = (np.array([0, 1, 2, 3, 3]), np.array([0, 1, 2, 2, 3]))
    assert vuv_error_rate(ref, syn, path) == pytest.approx(2 / 5)
    assert vuv_error_rate(ref, ref, (np.arange(4), np.arange(4))) == 0.0


def test_mcd_follows_the_path():
    ref = np.zeros((2, 35))
    ref[1, 1] = 1.0
    syn = ref[::-1].copy()
    assert mel_cepstral_distortion(ref, syn, (np.arange(2), np.arange(2))) == pytest.approx(ONE_DB)
    assert mel_cepstral_distortion(ref, syn, (np.array([0, 1]), np.array([1, 0]))) == 0.0
    # three frames off by one and one frame right: the mean over the pairs
    path = (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    assert mel_cepstral_distortion(ref, syn, path) == pytest.approx(ONE_DB / 2)


def test_dtw_path_aligns_a_stretched_copy_and_ignores_c0():
    rng = np.random.default_rng(0)
    mcep = rng.normal(size=(12, 35))
    ref = Features(mcep=mcep, f0=np.zeros(12), n_samples=12 * 256)
    stretched = np.repeat(mcep, 2, axis=0)
    stretched[:, 0] += rng.normal(scale=100.0, size=24)  # gain: not used for the path
    syn = Features(mcep=stretched, f0=np.zeros(24), n_samples=24 * 256)
    ref_index, syn_index = dtw_path(ref, syn)
    assert len(ref_index) == 24
    assert np.array_equal(ref_index, syn_index // 2)
    assert np.array_equal(syn_index, np.arange(24))


def test_duration_ratio():
    assert duration_ratio(22050, 33075) == 1.5
    assert duration_ratio(400, 100) == 0.25


def test_features_frame_grid_and_bad_waveforms(half_voiced):
    features = extract_features(half_voiced[:5000], DIO)
    assert features.mcep.shape == (1 + 5000 // 256, 35) and features.f0.shape == (20,)
    assert features.n_samples == 5000
    with pytest.raises(UserInputError, match="non-empty mono"):
        extract_features(np.zeros((2, 100)))
    with pytest.raises(UserInputError, match="non-empty mono"):
        extract_features(np.zeros(0))
    with pytest.raises(UserInputError, match="NaN or infinite"):
        extract_features(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(UserInputError, match="unknown f0_method 'yin'"):
        estimate_f0(half_voiced, MetricSettings(f0_method="yin"))
