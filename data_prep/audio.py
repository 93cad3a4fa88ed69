"""Reading corpus audio: mono float32 at the model rate, with clear errors for unusable files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from data_prep.features import SAMPLE_RATE
from tts_ebm.errors import UserInputError

SILENCE_PEAK = 1e-4  # below this peak amplitude a file carries no speech


class AudioError(UserInputError):
    """An audio file that cannot be used (unreadable, empty, silent)."""


def load_audio(path: str | Path, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Mono float32 samples of `path` at target_sr; resamples (with a warning) when rates differ."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise AudioError(f"cannot decode audio file {path}: {error}") from error
    wav = data.mean(axis=1)
    if wav.size == 0:
        raise AudioError(f"audio file is empty: {path}")
    if not np.isfinite(wav).all():
        raise AudioError(f"audio file holds NaN or infinite samples: {path}")
    if np.abs(wav).max() < SILENCE_PEAK:
        raise AudioError(f"audio file is silent (peak below {SILENCE_PEAK}): {path}")
    if sr != target_sr:
        import librosa

        warnings.warn(f"resampling {path} from {sr} Hz to {target_sr} Hz", stacklevel=2)
        wav = librosa.resample(wav, orig_sr=sr, target_sr=target_sr, res_type="soxr_hq")
        wav = np.clip(wav, -1.0, 1.0)
    return np.ascontiguousarray(wav, dtype=np.float32)
