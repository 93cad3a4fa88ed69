"""Turn a source wav into a listening-test stimulus: mono, one rate, target loudness.

Loudness is ITU-R BS.1770 integrated loudness (pyloudnorm) measured on the signal exactly as
it is written (dual-mono stereo counts both channels, +3 LU versus mono), so every file a
listener hears measures the target. Peak policy: the gain that reaches the target is applied;
if that pushes samples above the -1 dBFS ceiling, a look-ahead peak limiter removes only those
peaks and the gain is re-adjusted so loudness stays within `LOUDNESS_TOLERANCE_LU`; only if
that still fails is the gain lowered to fit the ceiling, with a warning naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import pyloudnorm
import soundfile as sf
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from tts_ebm.errors import UserInputError

PEAK_CEILING = 10 ** (-1.0 / 20)  # -1 dBFS, headroom for 16-bit rounding and DAC overshoot
LOUDNESS_TOLERANCE_LU = 0.5
SILENCE_PEAK = 1e-4  # below -80 dBFS nothing audible is left
CLIP_LEVEL = 0.999
CLIP_RUN = 3  # consecutive full-scale samples that indicate clipping
LIMITER_WINDOW_S = 0.005


@dataclass
class SourceAudio:
    """A mono source signal at the export rate and what had to be done to it."""

    path: Path
    audio: np.ndarray  # float64 mono
    sample_rate: int
    original_rate: int
    clipped: bool


def _has_clipping(audio: np.ndarray) -> bool:
    """True when `CLIP_RUN` consecutive samples sit at full scale."""
    at_full_scale = np.abs(audio) >= CLIP_LEVEL
    if at_full_scale.sum() < CLIP_RUN:
        return False
    runs = np.convolve(at_full_scale.astype(np.int32), np.ones(CLIP_RUN, np.int32), "valid")
    return bool((runs == CLIP_RUN).any())


def load_source(path: Path, sample_rate: int) -> SourceAudio:
    """Read a wav, mix to mono, reject silence, flag clipping, resample to `sample_rate`.

    Clipping and off-target loudness are returned as flags; the caller decides how to report.
    """
    try:
        audio, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise UserInputError(f"cannot read audio file {path}: {error}") from error
    mono = audio.mean(axis=1)
    if mono.size == 0 or np.max(np.abs(mono)) < SILENCE_PEAK:
        raise UserInputError(f"source file is silent or empty: {path}")
    clipped = _has_clipping(audio.ravel())
    if rate != sample_rate:
        mono = librosa.resample(mono, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return SourceAudio(Path(path), mono, sample_rate, rate, clipped)


def pad_to(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Append silence so that a MUSHRA trial's files share one length."""
    if audio.shape[0] > n_samples:
        raise ValueError(f"cannot pad {audio.shape[0]} samples down to {n_samples}")
    pad = [(0, n_samples - audio.shape[0])] + [(0, 0)] * (audio.ndim - 1)
    return np.pad(audio, pad)


def to_layout(mono: np.ndarray, channels: int) -> np.ndarray:
    """(T,) for mono files, (T, 2) identical channels for webMUSHRA's dual-mono."""
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def integrated_loudness(audio: np.ndarray, sample_rate: int, path: Path) -> float:
    """BS.1770 integrated loudness; errors name the file when it cannot be measured."""
    try:
        loudness = pyloudnorm.Meter(sample_rate).integrated_loudness(audio)
    except ValueError as error:  # shorter than one 400 ms gating block
        raise UserInputError(f"cannot measure loudness of {path} (too short?): {error}") from error
    if not np.isfinite(loudness):
        raise UserInputError(f"source file has no measurable loudness (silent): {path}")
    return float(loudness)


def _limit(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Look-ahead limiter: smooth per-sample gain that never lets |x| exceed the ceiling.

    The minimum filter spreads each peak's gain reduction over one window either side and the
    moving average of the same width smooths it without ever rising above what any sample
    inside its own window needs, so no overshoot is possible.
    """
    peak = np.abs(audio) if audio.ndim == 1 else np.abs(audio).max(axis=1)
    needed = np.minimum(1.0, PEAK_CEILING / np.maximum(peak, 1e-12))
    width = max(1, int(LIMITER_WINDOW_S * sample_rate)) * 2 + 1
    gain = uniform_filter1d(minimum_filter1d(needed, width, mode="nearest"), width, mode="nearest")
    gain = np.minimum(gain, needed)  # guards float rounding at window edges
    return audio * (gain if audio.ndim == 1 else gain[:, None])


@dataclass
class Normalised:
    audio: np.ndarray
    loudness: float  # measured after processing
    limited: bool
    within_tolerance: bool


def normalise_loudness(
    audio: np.ndarray, sample_rate: int, target_lufs: float, path: Path
) -> Normalised:
    """Scale to `target_lufs`, keep peaks under -1 dBFS (policy in the module docstring)."""
    measured = integrated_loudness(audio, sample_rate, path)
    out = audio * 10 ** ((target_lufs - measured) / 20)
    limited = False
    for _ in range(4):  # limiting lowers loudness a little; re-gain and re-limit
        if np.max(np.abs(out)) <= PEAK_CEILING:
            break
        limited = True
        out = _limit(out, sample_rate)
        out = out * 10 ** ((target_lufs - integrated_loudness(out, sample_rate, path)) / 20)
    if np.max(np.abs(out)) > PEAK_CEILING:
        out = out * (PEAK_CEILING / np.max(np.abs(out)))
    loudness = integrated_loudness(out, sample_rate, path)
    within = abs(loudness - target_lufs) <= LOUDNESS_TOLERANCE_LU
    return Normalised(out, loudness, limited, within)


def write_pcm16(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM wav: what every browser decodes and webMUSHRA expects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, sample_rate, subtype="PCM_16")
