"""Griffin-Lim vocoder for offline use: no weights, lower quality than HiFi-GAN.

The linear magnitude is recovered from the raw log-mel with the pseudo-inverse of the same
librosa Slaney filterbank the features use (DESIGN §2), then phase is estimated by torchaudio.
"""

from __future__ import annotations

import librosa
import torch
import torchaudio

from data_prep.features import MEL
from vocoder.checks import check_mel


class GriffinLimVocoder:
    """Callable on raw log-mel (B, 80, T) -> waveform (B, T * 256), like HiFi-GAN."""

    sample_rate = MEL.sample_rate
    hop_length = MEL.hop_length

    def __init__(self, device: torch.device, n_iter: int = 32) -> None:
        basis = librosa.filters.mel(
            sr=MEL.sample_rate, n_fft=MEL.n_fft, n_mels=MEL.n_mels, fmin=MEL.f_min,
            fmax=MEL.f_max, htk=False, norm="slaney",
        )
        self.inverse_basis = torch.linalg.pinv(torch.from_numpy(basis)).to(device)  # (513, 80)
        self.window = torch.hann_window(MEL.win_length, device=device)
        self.device = device
        self.n_iter = n_iter

    @torch.inference_mode()
    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor:
        mel = check_mel(log_mel, MEL.n_mels).to(self.device, torch.float32)
        magnitude = (self.inverse_basis @ mel.exp()).clamp(min=0.0)  # (B, 513, T)
        # a centred STFT of T * hop samples has T + 1 frames: repeat the last one
        magnitude = torch.cat([magnitude, magnitude[..., -1:]], dim=-1)
        n_samples = mel.shape[-1] * MEL.hop_length
        wav = torchaudio.functional.griffinlim(
            magnitude, self.window, MEL.n_fft, MEL.hop_length, MEL.win_length, power=1.0,
            n_iter=self.n_iter, momentum=0.99, length=n_samples, rand_init=False,
        )
        # Griffin-Lim has no output bound: scale a waveform that would clip down to a 0.99 peak
        # (per utterance) rather than clipping it, which would add distortion to what is scored
        peak = wav.abs().amax(dim=-1, keepdim=True)
        return (wav * (0.99 / peak).clamp(max=1.0)).float().cpu()
