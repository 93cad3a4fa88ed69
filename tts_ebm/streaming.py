"""Audio in pieces as soon as they are made: what `Synthesizer.stream` and `OnnxVoice.stream`
share (numpy only, so that the ONNX path stays torch-free).

A sentence's mel is made whole (the acoustic model is a few per cent of the time), then vocoded
in chunks of `chunk_frames` frames, each with `context_frames` of mel on either side that are
vocoded and cut away: HiFi-GAN is convolutional, so a chunk with enough context gives the same
samples as the whole mel would, and the first chunk plays after a fraction of the sentence's
vocoding time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

CHUNK_FRAMES = 64  # 0.74 s of audio at 22 050 Hz, hop 256
CONTEXT_FRAMES = 16  # each side: HiFi-GAN V1 chunks then match the whole mel to 2e-6 (8: 0.1)


def vocode_in_chunks(mel: np.ndarray, vocode: Callable[[np.ndarray], np.ndarray],
                     hop_length: int, chunk_frames: int = CHUNK_FRAMES,
                     context_frames: int = CONTEXT_FRAMES) -> Iterator[np.ndarray]:
    """float32 waveform pieces of raw log-mel `mel` (80, T), in order; together T * hop samples.

    `vocode` maps a mel (80, t) to at least t * hop samples (the first t * hop are kept).
    """
    if chunk_frames < 1 or context_frames < 0:
        raise ValueError(f"chunk_frames must be >= 1 and context_frames >= 0, got "
                         f"{chunk_frames} and {context_frames}")
    frames = mel.shape[-1]
    for start in range(0, frames, chunk_frames):
        stop = min(frames, start + chunk_frames)
        left, right = max(0, start - context_frames), min(frames, stop + context_frames)
        wav = np.asarray(vocode(mel[:, left:right]), np.float32).reshape(-1)
        yield wav[(start - left) * hop_length:(stop - left) * hop_length]
