"""Objective metrics (tts_ebm.evaluation.metrics) against cases with known answers."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation import metrics
from tts_ebm.evaluation.metrics import (
    Features,
    MetricSettings,
    compare,
    dtw_path,
    duration_ratio,
    estimate_f0,
    extract_features,
    fine_log_f0_rmse_cents,
    gross_pitch_error_rate,
    log_f0_rmse_cents,
    vuv_error_rate,
    waveform_mcd,
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
    assert waveform_mcd(ref, syn, (np.arange(2), np.arange(2))) == pytest.approx(ONE_DB)
    assert waveform_mcd(ref, syn, (np.array([0, 1]), np.array([1, 0]))) == 0.0
    # three frames off by one and one frame right: the mean over the pairs
    path = (np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    assert waveform_mcd(ref, syn, path) == pytest.approx(ONE_DB / 2)


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


# --- the conventions and settings that the mutation run found unpinned --------------------------


def test_analysis_is_pysptk_mcep_of_int16_scaled_hamming_frames(half_voiced):
    """The documented convention (ESPnet's for 22.05 kHz), frame i centred at sample i * hop."""
    settings = MetricSettings(f0_method="dio", mcep_alpha=0.3)
    features = extract_features(half_voiced, settings)
    i = 10
    frame = 32768.0 * half_voiced[i * 256 - 512: i * 256 + 512]
    sptk = metrics.pysptk  # imported there with its pkg_resources warning silenced
    expected = sptk.mcep(frame * sptk.hamming(1024), 34, 0.3, etype=1, eps=1e-6)
    np.testing.assert_allclose(features.mcep[i], expected, rtol=1e-10, atol=1e-10)


def test_mcep_and_f0_are_trimmed_to_one_length():
    # pyworld's frame count rounds 1000 * n / sr / frame_period down: 13 hops give 13 frames,
    # not 14, while the centred mel-cepstrum grid has 14
    wav = 0.1 * np.random.default_rng(0).normal(size=13 * 256)
    assert len(estimate_f0(wav, DIO)) == 13
    features = extract_features(wav, DIO)
    assert features.mcep.shape == (13, 35) and features.f0.shape == (13,)


def test_f0_frame_period_is_the_hop():
    # 20 hops: 21 frames; a frame period 0.1 % longer would give 20
    assert len(estimate_f0(0.1 * np.random.default_rng(0).normal(size=20 * 256), DIO)) == 21


def test_bad_waveform_messages_are_exact():
    with pytest.raises(UserInputError, match=r"^waveform contains NaN or infinite samples$"):
        extract_features(np.array([0.0, np.inf, 0.0]))


def _path_cost(ref: np.ndarray, syn: np.ndarray, path: tuple[np.ndarray, np.ndarray]) -> float:
    return float(np.linalg.norm(ref[path[0]] - syn[path[1]], axis=1).sum())


def test_dtw_path_is_the_euclidean_optimum_when_the_radius_covers_the_sequences():
    rng = np.random.default_rng(2)
    ref = Features(mcep=rng.normal(size=(40, 35)), f0=np.zeros(40), n_samples=40 * 256)
    syn = Features(mcep=rng.normal(size=(56, 35)), f0=np.zeros(56), n_samples=56 * 256)
    cost, _ = librosa.sequence.dtw(ref.mcep[:, 1:].T, syn.mcep[:, 1:].T, metric="euclidean")
    exact = dtw_path(ref, syn, MetricSettings(dtw_radius=60))
    assert _path_cost(ref.mcep[:, 1:], syn.mcep[:, 1:], exact) == pytest.approx(cost[-1, -1])
    # radius 1 (the default) is fastdtw's approximation: here measurably worse
    approximate = dtw_path(ref, syn)
    assert _path_cost(ref.mcep[:, 1:], syn.mcep[:, 1:], approximate) > cost[-1, -1] + 1.0


def test_dtw_path_aligns_on_c0_when_c0_is_included():
    rng = np.random.default_rng(0)
    mcep = np.zeros((12, 35))
    mcep[:, 0] = rng.normal(scale=5.0, size=12)  # only the gain moves
    ref = Features(mcep=mcep, f0=np.zeros(12), n_samples=12 * 256)
    syn = Features(mcep=np.repeat(mcep, 2, axis=0), f0=np.zeros(24), n_samples=24 * 256)
    ref_index, syn_index = dtw_path(ref, syn, MetricSettings(include_c0=True))
    assert np.array_equal(ref_index, syn_index // 2)
    assert np.array_equal(syn_index, np.arange(24))


def test_an_octave_at_an_octave_threshold_is_fine_not_gross():
    ref, syn = np.array([100.0, 100.0]), np.array([200.0, 100.0])  # 1200 cents, exactly
    identity = (np.arange(2), np.arange(2))
    assert gross_pitch_error_rate(ref, syn, identity, threshold_cents=1200.0) == 0.0
    assert fine_log_f0_rmse_cents(ref, syn, identity, threshold_cents=1200.0) == pytest.approx(
        1200 / math.sqrt(2))
    assert gross_pitch_error_rate(ref, syn, identity, threshold_cents=1199.0) == 0.5


def test_compare_counts_pairs_voiced_in_both(half_voiced):
    # the tone first against the tone last: each side is unvoiced where the other is voiced
    swapped = np.concatenate([half_voiced[SR // 2:], half_voiced[: SR // 2]])
    result = compare(half_voiced, swapped, DIO)
    ref, syn = extract_features(half_voiced, DIO), extract_features(swapped, DIO)
    path = dtw_path(ref, syn, DIO)
    ref_voiced, syn_voiced = ref.f0[path[0]] > 0, syn.f0[path[1]] > 0
    assert result["n_voiced_both"] == int(np.sum(ref_voiced & syn_voiced))
    assert 0 < result["n_voiced_both"] < min(ref_voiced.sum(), syn_voiced.sum())


def test_compare_uses_the_settings_for_c0_alignment_and_pitch_errors(half_voiced, monkeypatch):
    tone = harmonic(150.0, 1.0)
    halved = 0.5 * tone
    # a gain of one half moves c0 by ln 2 and nothing else
    assert compare(tone, halved, DIO)["mcd_db"] == pytest.approx(0.0, abs=0.01)
    with_c0 = compare(tone, halved, MetricSettings(f0_method="dio", include_c0=True))
    assert with_c0["mcd_db"] == pytest.approx(ONE_DB * math.log(2), rel=0.01)
    # 100 cents sharp: a gross error only under a 50-cent threshold
    sharp = harmonic(150.0 * 2 ** (100 / 1200), 1.0)
    assert compare(tone, sharp, DIO)["gross_pitch_error_rate"] == 0.0
    strict = compare(tone, sharp, MetricSettings(f0_method="dio", gross_pitch_error_cents=50.0))
    assert strict["gross_pitch_error_rate"] > 0.9 and strict["fine_log_f0_rmse_cents"] is None
    # the alignment gets the caller's settings too
    seen = []
    real = metrics.dtw_path
    monkeypatch.setattr(metrics, "dtw_path", lambda r, s, settings=None: seen.append(settings)
                        or real(r, s, settings))
    compare(tone, tone, MetricSettings(f0_method="dio", dtw_radius=3))
    assert seen == [MetricSettings(f0_method="dio", dtw_radius=3)]
