"""Atomic file writes: a temporary file in the target's folder renamed into place.

A killed run never leaves a half-written file that a later stage would trust. The temporary
file is created with mode 0666 minus the umask (what `open()` gives a new file), not
`tempfile.mkstemp`'s 0600, so results can be served or shared like any other file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary path next to `path`; rename it to `path` if the block succeeds.

    The block writes the temporary file by name (it already exists, empty); on an exception it
    is deleted and `path` is left as it was. The parent folder is created when missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # umask applies
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write UTF-8 text to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_wav(path: str | Path, waveform: np.ndarray, sample_rate: int) -> Path:
    """16-bit PCM WAV written atomically: never a half-written file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(waveform, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
    return path
