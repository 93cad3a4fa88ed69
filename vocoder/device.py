"""Device choice shared by the vocoder and synthesis: CUDA when present, unless told."""

from __future__ import annotations

import torch

from tts_ebm.errors import UserInputError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """None -> CUDA if available else CPU; a named device is checked before any work starts."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise UserInputError(f"unknown device {device!r}: {error}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UserInputError(f"device {device!r} requested but CUDA is not available")
    return resolved
