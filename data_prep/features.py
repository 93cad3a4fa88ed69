"""The HiFi-GAN log-mel spectrogram (Grad-TTS / Matcha-TTS definition).

It must match the pretrained vocoder bit for bit in definition: any change in padding, window,
magnitude or filterbank shifts the features the vocoder was trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from tts_ebm.errors import UserInputError


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float = 8000.0
    clamp_min: float = 1e-5


MEL = MelConfig()
SAMPLE_RATE = MEL.sample_rate
HOP_LENGTH = MEL.hop_length
N_MELS = MEL.n_mels
N_FFT = MEL.n_fft
WIN_LENGTH = MEL.win_length

_CACHE: dict[tuple[torch.device, torch.dtype], tuple[torch.Tensor, torch.Tensor]] = {}


def _basis_and_window(
    device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    key = (device, dtype)
    if key not in _CACHE:
        import librosa

        basis = librosa.filters.mel(
            sr=MEL.sample_rate,
            n_fft=MEL.n_fft,
            n_mels=MEL.n_mels,
            fmin=MEL.f_min,
            fmax=MEL.f_max,
            htk=False,
            norm="slaney",
        )
        _CACHE[key] = (
            torch.from_numpy(basis).to(device=device, dtype=dtype),
            torch.hann_window(MEL.win_length, device=device, dtype=dtype),
        )
    return _CACHE[key]


def n_frames(n_samples: int) -> int:
    """Frames the mel of n_samples samples has: floor(N / hop)."""
    return n_samples // MEL.hop_length


def mel_spectrogram(wav: torch.Tensor | np.ndarray, sample_rate: int = SAMPLE_RATE):
    """Log-mel of shape (..., 80, N // 256) from waveforms (..., N) in [-1, 1].

    Returns a torch tensor for torch input and a float32 numpy array for numpy input.
    """
    if sample_rate != MEL.sample_rate:
        raise UserInputError(
            f"mel_spectrogram needs {MEL.sample_rate} Hz audio, got {sample_rate} Hz; resample first"
        )
    as_numpy = isinstance(wav, np.ndarray)
    x = torch.from_numpy(np.asarray(wav, dtype=np.float32)) if as_numpy else wav
    if not x.is_floating_point():
        raise UserInputError(f"waveform must be floating point in [-1, 1], got {x.dtype}")
    pad = (MEL.n_fft - MEL.hop_length) // 2
    if x.shape[-1] < max(pad + 1, MEL.hop_length):
        raise UserInputError(
            f"waveform too short for a mel frame: {x.shape[-1]} samples (need at least {pad + 1})"
        )
    batch_shape, out_dtype = x.shape[:-1], x.dtype
    # float64 inside: in float32 the STFT's rounding (~1e-7 of the peak) reaches 1e-2 in log
    # space near the 1e-5 clamp; features are computed once, so exactness is cheap.
    x = x.to(torch.float64).reshape(-1, 1, x.shape[-1])
    x = torch.nn.functional.pad(x, (pad, pad), mode="reflect").squeeze(1)
    basis, window = _basis_and_window(x.device, x.dtype)
    spec = torch.stft(
        x,
        MEL.n_fft,
        hop_length=MEL.hop_length,
        win_length=MEL.win_length,
        window=window,
        center=False,
        return_complex=True,
    )
    magnitude = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
    mel = torch.log(torch.clamp(basis @ magnitude, min=MEL.clamp_min))
    mel = mel.to(out_dtype).reshape(*batch_shape, MEL.n_mels, mel.shape[-1])
    return mel.numpy() if as_numpy else mel
