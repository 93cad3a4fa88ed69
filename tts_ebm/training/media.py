"""Validation mel plots for TensorBoard (audio: `vocoder.load`; the logged distance:
`tts_ebm.evaluation.mel_metrics.log_mel_mcd`).

These only monitor training. The reported metrics (MCD on mel-cepstra from audio, F0, V/UV)
are computed by `tts-ebm evaluate`; the vocoder used for listening is HiFi-GAN.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no global backend or figure registry


def plot_mels(target: np.ndarray, synthesis: np.ndarray, title: str) -> Figure:
    """Target and synthesised (D, T) mels one above the other on the same colour scale."""
    low = float(min(target.min(), synthesis.min()))
    high = float(max(target.max(), synthesis.max()))
    figure = Figure(figsize=(8, 5))
    axes = figure.subplots(2, 1)
    figure.subplots_adjust(hspace=0.45)
    for axis, mel, name in zip(axes, (target, synthesis), ("target", "synthesis")):
        image = axis.imshow(
            mel, origin="lower", aspect="auto", vmin=low, vmax=high, interpolation="none"
        )
        axis.set_title(f"{title} {name} ({mel.shape[1]} frames)")
    figure.colorbar(image, ax=axes)
    return figure
