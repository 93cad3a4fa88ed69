"""Audio in pieces as soon as they are made: what `Synthesizer.stream` and `OnnxVoice.stream`
share (numpy only, so that the ONNX path stays torch-free).

A sentence's mel is made whole (the acoustic model is a few per cent of the time), then vocoded
in chunks, each with `context_frames` of mel on either side that are vocoded and cut away:
HiFi-GAN is convolutional, so a chunk with enough context gives the same samples as the whole
mel would. The first chunk is short, so that it plays after a fraction of the sentence's
vocoding time; each next one is twice as long up to `max_chunk_frames`, so that the context's
extra work (32 frames a chunk) shrinks to an eighth of a 256-frame chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

CHUNK_FRAMES = 32  # the first chunk: 0.37 s of audio at 22 050 Hz, hop 256
MAX_CHUNK_FRAMES = 256
CONTEXT_FRAMES = 16  # each side: HiFi-GAN V1 chunks then match the whole mel to 2e-6 (8: 0.1)


def vocode_in_chunks(mel: np.ndarray, vocode: Callable[[np.ndarray], np.ndarray],
                     hop_length: int, chunk_frames: int = CHUNK_FRAMES,
                     context_frames: int = CONTEXT_FRAMES,
                     max_chunk_frames: int = MAX_CHUNK_FRAMES) -> Iterator[np.ndarray]:
    """float32 waveform pieces of raw log-mel `mel` (80, T), in order; together T * hop samples.
    The first piece is `chunk_frames` frames long, each next one twice the last, at most
    `max_chunk_frames`. `vocode` maps a mel (80, t) to at least t * hop samples (the first
    t * hop are kept)."""
    if not 1 <= chunk_frames <= max_chunk_frames or context_frames < 0:
        raise ValueError(f"want 1 <= chunk_frames <= max_chunk_frames and context_frames >= 0, "
                         f"got {chunk_frames}, {max_chunk_frames} and {context_frames}")
    frames, start, size = mel.shape[-1], 0, chunk_frames
    while start < frames:
        stop = min(frames, start + size)
        left, right = max(0, start - context_frames), min(frames, stop + context_frames)
        wav = np.asarray(vocode(mel[:, left:right]), np.float32).reshape(-1)
        yield wav[(start - left) * hop_length:(stop - left) * hop_length]
        start, size = stop, min(2 * size, max_chunk_frames)
