"""Input checks shared by the vocoders, so both fail the same way on a bad mel."""

from __future__ import annotations

import numpy as np
import torch

from tts_ebm.errors import UserInputError


def check_mel(log_mel: torch.Tensor | np.ndarray, n_mels: int) -> torch.Tensor:
    """Return `log_mel` as a tensor after checking shape (B, n_mels, T>0) and finiteness."""
    mel = torch.as_tensor(log_mel)
    if mel.ndim != 3 or mel.shape[1] != n_mels or mel.shape[2] == 0:
        raise UserInputError(
            f"vocoder input must be a log-mel of shape (batch, {n_mels}, frames>0), "
            f"got {tuple(mel.shape)}"
        )
    if not torch.isfinite(mel).all():
        raise UserInputError("vocoder input contains NaN or infinite values")
    return mel
