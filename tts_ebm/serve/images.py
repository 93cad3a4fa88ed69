"""PNG bytes of mels for the page: one pixel per frame and bin, rendered on request.

matplotlib's `imsave` (no figure, no axes) takes a few milliseconds per image, so the mel
after each of K steps is drawn only when the page's slider asks for it.
"""

from __future__ import annotations

import io

import numpy as np

MEL_COLORMAP = "magma"  # as the samples page
DELTA_COLORMAP = "RdBu_r"  # red: the step raised the log-mel, blue: lowered it


def _png(image: np.ndarray, **options) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, image, origin="lower", format="png", **options)
    return buffer.getvalue()


def mel_png(mel: np.ndarray, vmin: float, vmax: float) -> bytes:
    """A raw log-mel (80, T) on the given colour scale."""
    return _png(mel, vmin=vmin, vmax=vmax, cmap=MEL_COLORMAP)


def delta_png(change: np.ndarray) -> bytes:
    """What one step changed (80, T), on a scale symmetric about 0 (white: unchanged)."""
    bound = max(float(np.abs(change).max()), 1e-6)
    return _png(change, vmin=-bound, vmax=bound, cmap=DELTA_COLORMAP)
