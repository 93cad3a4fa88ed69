"""torch.load(weights_only=True) with its failures named in the user's terms.

Shared by training checkpoints and vocoder checkpoints. On a file it cannot read, torch's
unpickler raises almost any exception type (KeyError or IndexError on a text file, a
weights-only error on random bytes), so the cause is read from the file and the message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from tts_ebm.errors import UserInputError

ZIP_MAGIC = b"PK\x03\x04"  # torch.save has written zip archives since PyTorch 1.6


def load_weights_only(path: str | Path, what: str, hint: str = "") -> Any:
    """The object saved in `path` (tensors and plain containers only), on the CPU.

    `what` names the file in errors ("checkpoint", "vocoder checkpoint"); `hint` follows the
    refusal of a file that holds Python objects.
    """
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise _load_error(path, what, hint, error) from error


def _load_error(path: Path, what: str, hint: str, error: Exception) -> UserInputError:
    refusal = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
    if refusal:  # the weights-only unpickler met a Python object
        return UserInputError(
            f"refusing to load {what} {path}: it holds Python objects beyond tensors "
            f"({refusal.group(1)}), and loading those could run arbitrary code{hint}"
        )
    if path.is_file() and _first_bytes(path) != ZIP_MAGIC:
        return UserInputError(
            f"{path} is not a PyTorch file (torch.save writes a zip archive; this file is not "
            f"one): expected a {what}"
        )
    return UserInputError(f"cannot read {what} {path} (truncated or corrupt file?): {error}")


def _first_bytes(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(ZIP_MAGIC))
