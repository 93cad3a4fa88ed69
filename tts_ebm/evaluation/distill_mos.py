"""Distill-MOS predicted MOS of one waveform, offline: the second listener-like judge.

Why: DNSMOS P.808 was trained to rate noise suppression. On this toolkit's models it puts μ
0.3 below the vocoder's ceiling and says the energy steps help, where Distill-MOS (Stahl &
Gamper, 2025: a convolutional transformer distilled from an XLS-R speech-quality model, MIT,
its weights inside the `distillmos` wheel) puts μ 1.2-1.4 below and hears the steps' grain.
Every quality claim therefore carries both judges.

The reference procedure of `distillmos.ConvTransformerSQAModel.forward`, unchanged: mono audio at
16 kHz, each 7.68 s crop peak-normalised (the judge is level-invariant); a shorter clip is
zero-padded to 7.68 s, a longer one scored on crops every <= 1 s, and the crop scores averaged.
It runs on one torch thread (evaluation runs one worker process per core); about 0.4 CPU-s a
clip of up to 7.68 s.
"""

from __future__ import annotations

import contextlib
import functools
import io

import numpy as np

SAMPLE_RATE = 16000
DESCRIPTION = "distillmos 0.9.1 (ConvTransformerSQAModel, distill_mos_v7.pt) at 16 kHz"


@functools.cache
def _model():  # -> distillmos.ConvTransformerSQAModel
    import distillmos

    with contextlib.redirect_stdout(io.StringIO()):  # it prints where its weights came from
        model = distillmos.ConvTransformerSQAModel()
    return model.eval()


def distill_mos(wav_16k: np.ndarray) -> float:
    """Predicted MOS (1..5) of a mono 16 kHz waveform."""
    import torch

    audio = torch.from_numpy(np.asarray(wav_16k, dtype=np.float32).copy())[None]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            return float(_model()(audio).item())
    finally:
        torch.set_num_threads(threads)
