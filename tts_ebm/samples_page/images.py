"""Mel-spectrogram images of wav files on one shared colour scale.

Every image uses the same vmin/vmax (the range over all of the page's mels), so a brighter
region means more energy in every row alike; one pixel per frame and mel bin, so images of
the same utterance line up in time.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from data_prep.audio import load_audio
from data_prep.features import mel_spectrogram
from tts_ebm.io import atomic_path

COLORMAP = "magma"


def wav_mel(path: Path) -> np.ndarray:
    """The HiFi-GAN log-mel (80, T) of a wav, resampled to 22 050 Hz when needed."""
    return mel_spectrogram(load_audio(path))


def shared_range(mels: Iterable[np.ndarray]) -> tuple[float, float]:
    """(vmin, vmax) over all mels: one colour scale for the page."""
    mels = list(mels)
    return min(float(m.min()) for m in mels), max(float(m.max()) for m in mels)


def save_mel_png(mel: np.ndarray, path: Path, vmin: float, vmax: float) -> None:
    """One pixel per frame and mel bin, low frequencies at the bottom, written atomically."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        plt.imsave(tmp, mel, vmin=vmin, vmax=vmax, cmap=COLORMAP, origin="lower", format="png")


def save_colorbar_png(path: Path, vmin: float, vmax: float) -> None:
    """The legend of the shared scale: log-mel value (natural log of magnitude)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(4, 0.7), constrained_layout=True)
    figure.colorbar(
        matplotlib.cm.ScalarMappable(matplotlib.colors.Normalize(vmin, vmax), COLORMAP),
        cax=axis, orientation="horizontal", label="log-mel (shared scale)",
    )
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
