"""Shared fixtures: small synthetic audio files (no network, no corpus needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def write_tone(
    path: Path,
    seconds: float = 0.5,
    sample_rate: int = 22050,
    freq: float = 220.0,
    amplitude: float = 0.5,
    channels: int = 1,
) -> Path:
    """A sine tone as 16-bit PCM wav; amplitude 0 gives a silent file."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sample_rate, subtype="PCM_16")
    return path


@pytest.fixture
def make_wav(tmp_path: Path) -> Callable[..., Path]:
    """make_wav(name, **write_tone options) -> path of a tone wav under tmp_path."""
    return lambda name, **options: write_tone(tmp_path / name, **options)
