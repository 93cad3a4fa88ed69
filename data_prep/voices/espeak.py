"""espeak-ng: one short process per sentence (it starts in milliseconds)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tts_ebm.errors import UserInputError


def require() -> None:
    if shutil.which("espeak-ng") is None:
        raise UserInputError(
            "espeak-ng not found on PATH; install it with `apt-get install espeak-ng`"
        )


def _speak(text: str, path: Path) -> Path:
    result = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-w", str(path), "--stdin"],
        input=text,
        text=True,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0 or not path.is_file():
        raise RuntimeError(f"espeak-ng failed on {text!r}: {result.stderr.strip()}")
    return path


def speak_many(jobs: Sequence[tuple[str, Path]], workers: int) -> Iterator[Path]:
    with ThreadPoolExecutor(max(1, workers)) as pool:
        yield from pool.map(lambda job: _speak(*job), jobs)
