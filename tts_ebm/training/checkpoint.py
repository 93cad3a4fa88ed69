"""The tts-ebm part of a Lightning checkpoint, and loading a checkpoint for synthesis.

A training checkpoint carries, besides Lightning's trainer state, `"tts_ebm"`: everything
synthesis needs (resolved config, symbol table and language, mel statistics, EMA weights) as plain tensors,
dicts, lists, strings and numbers, so that it loads with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from tts_ebm import __version__, voices
from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.config import ExperimentConfig
from tts_ebm.weights_file import load_weights_only

FORMAT_VERSION = 1  # bump when the "tts_ebm" entry changes incompatibly


def make_payload(
    config: ExperimentConfig,
    symbols: SymbolTable,
    mel_mean: list[float],
    mel_std: list[float],
    ema_state_dict: dict[str, Tensor],
    language: str = "en-us",
) -> dict[str, Any]:
    """The "tts_ebm" entry of a checkpoint."""
    return {
        "format_version": FORMAT_VERSION,
        "version": __version__,
        "config": config.to_dict(),
        "symbols": symbols.to_dict(),
        "language": language,
        "mel_mean": [float(v) for v in mel_mean],
        "mel_std": [float(v) for v in mel_std],
        "ema_state_dict": dict(ema_state_dict),
    }


@dataclass
class InferenceBundle:
    """What synthesis needs: the EMA model (eval mode) and how to map text and mels."""

    model: AcousticModel
    symbols: SymbolTable
    mel_mean: Tensor  # (n_mels,)
    mel_std: Tensor  # (n_mels,)
    config: ExperimentConfig
    language: str = "en-us"  # espeak-ng code; checkpoints without one were English


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """torch.load(weights_only=True) with a UserInputError that says what is wrong; `path` may
    also name a shipped voice or a Hub checkpoint (`tts_ebm.voices.resolve`)."""
    path = voices.resolve(path)
    checkpoint = load_weights_only(
        path, "checkpoint", hint="; tts-ebm writes checkpoints of tensors and plain values only"
    )
    if not isinstance(checkpoint, dict) or "tts_ebm" not in checkpoint:
        raise UserInputError(f"{path}: not a tts-ebm checkpoint (no 'tts_ebm' entry)")
    payload = checkpoint["tts_ebm"]
    found = payload.get("format_version") if isinstance(payload, dict) else None
    if found != FORMAT_VERSION:
        raise UserInputError(
            f"{path}: checkpoint format {found} (written by tts-ebm "
            f"{payload.get('version', '?') if isinstance(payload, dict) else '?'}) is not "
            f"supported; this tts-ebm {__version__} reads format {FORMAT_VERSION}"
        )
    return checkpoint


def load_for_inference(path: str | Path, device: str | torch.device = "cpu") -> InferenceBundle:
    """The EMA model of a training checkpoint, in eval mode on `device`, with its metadata."""
    payload = read_checkpoint(path)["tts_ebm"]
    config = ExperimentConfig.from_dict(payload["config"])
    symbols = SymbolTable.from_dict(payload["symbols"])
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(symbols))
    try:
        model.load_state_dict(payload["ema_state_dict"])
    except RuntimeError as error:
        raise UserInputError(f"{path}: weights do not match the stored model config: {error}")
    model.requires_grad_(False)
    return InferenceBundle(
        model=model.to(device).eval(),
        symbols=symbols,
        mel_mean=torch.tensor(payload["mel_mean"], device=device),
        mel_std=torch.tensor(payload["mel_std"], device=device),
        config=config,
        language=payload.get("language", "en-us"),
    )
