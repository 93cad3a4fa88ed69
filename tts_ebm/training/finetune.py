"""Fine-tuning: start a training run from the weights of a trained checkpoint.

What is carried over from the base checkpoint: the EMA weights (into both the trained model and
its EMA), the model config, the symbol table and language, and the mel normalisation
statistics (so the new speaker's mels are scaled as the base model expects). What is new: the
optimiser, the learning-rate schedule and the step count (the run's own config).

What is frozen is a choice (`--freeze`): nothing by default, because for a new speaker the
prior mean mu (the encoder's output) must move to the new voice's spectra; `--freeze encoder`
keeps the text encoder, prior and durations of the base model and adapts only the energy
(`field`), for very small sets where the encoder would overfit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor, nn

from tts_ebm.errors import UserInputError
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import read_checkpoint

FREEZABLE = ("encoder", "field")  # children of AcousticModel


@dataclass
class BaseModel:
    path: Path
    symbols: SymbolTable
    language: str
    mel_mean: np.ndarray
    mel_std: np.ndarray
    model_config: dict
    state_dict: dict[str, Tensor]


def read_base(path: str | Path) -> BaseModel:
    """The parts of a trained checkpoint a fine-tuning run starts from."""
    payload = read_checkpoint(path)["tts_ebm"]
    return BaseModel(
        path=Path(path),
        symbols=SymbolTable.from_dict(payload["symbols"]),
        language=payload.get("language", "en-us"),
        mel_mean=np.asarray(payload["mel_mean"], dtype=np.float32),
        mel_std=np.asarray(payload["mel_std"], dtype=np.float32),
        model_config=dict(payload["config"]["model"]),
        state_dict=payload["ema_state_dict"],
    )


def check_language(base: BaseModel, dump_language: str) -> None:
    if base.language != dump_language:
        raise UserInputError(
            f"{base.path} was trained on language {base.language!r} but the dump is "
            f"{dump_language!r}; fine-tune on a corpus of the same language"
        )


def load_weights(model: nn.Module, ema_model: nn.Module, base: BaseModel) -> None:
    for target in (model, ema_model):
        try:
            target.load_state_dict(base.state_dict)
        except RuntimeError as error:
            raise UserInputError(f"{base.path}: weights do not match the model: {error}") from error


def freeze(model: nn.Module, parts: list[str]) -> None:
    """Stop gradients into the named children of the model (see the module docstring)."""
    for part in parts:
        if part not in FREEZABLE:
            raise UserInputError(f"cannot freeze {part!r}; choose from: {', '.join(FREEZABLE)}")
        getattr(model, part).requires_grad_(False)
