"""Cheap validation artefacts: mel plots and a mel-cepstral distance (audio: vocoder.load).

These only monitor training. The reported metrics (MCD on mel-cepstra from audio, F0, V/UV)
are computed by `tts-ebm evaluate`; the vocoder used for listening is HiFi-GAN.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from fastdtw import fastdtw
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


def mel_cepstral_distance(reference: np.ndarray, synthesis: np.ndarray, order: int = 24) -> float:
    """MCD-style distance (dB) between two raw log-mels (D, T) of possibly different lengths.

    Cepstra are the orthonormal DCT-II of the natural-log mel frames, coefficients 1..order
    (c0, the loudness, excluded); frames are aligned with (fast)DTW on the Euclidean distance; the
    result is (10 / ln 10) * sqrt(2) * mean aligned distance. A monitoring proxy, not comparable
    to MCD from SPTK mel-cepstra.
    """
    ref = scipy.fft.dct(reference, type=2, norm="ortho", axis=0)[1 : order + 1]
    syn = scipy.fft.dct(synthesis, type=2, norm="ortho", axis=0)[1 : order + 1]
    _, path = fastdtw(ref.T, syn.T, dist=2)
    ref_index, syn_index = np.asarray(path).T
    distances = np.linalg.norm(ref[:, ref_index] - syn[:, syn_index], axis=0)
    return float(10.0 / math.log(10.0) * math.sqrt(2.0) * distances.mean())
