"""DNSMOS predicted MOS (P.835 SIG/BAK/OVRL and P.808) of one waveform, offline.

Microsoft's DNSMOS ONNX models as shipped in the `speechmos` wheel (MIT), run through its
`DNSMOS` class so that the scoring is exactly the reference `dnsmos_local.py` procedure:

- input: mono audio at 16 kHz in [-1, 1] (we resample and clip to that range);
- the models see 9.01 s windows. A shorter clip is tiled (concatenated with itself until it is
  at least 9.01 s long), so a 3 s clip is scored as the same clip heard three times in a row.
  A longer clip is scored on `int(floor(seconds) - 9.01) + 1` windows starting every second,
  and the window scores are averaged, so up to 2 s at the end of a long clip are never heard;
- P.835 scores pass through the published polynomial calibration (non-personalised model);
  P.808 is the raw output of `model_v8.onnx` on a per-window max-normalised log-mel.

It is non-intrusive (no reference needed). The ONNX sessions are created once per process with
one thread each, because evaluation already runs one worker process per core.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
DESCRIPTION = (
    "speechmos 0.0.1.1 DNSMOS P.835 (sig_bak_ovr.onnx, polynomial-calibrated) and P.808 "
    "(model_v8.onnx) at 16 kHz; clips < 9.01 s tiled, longer ones averaged over 9.01 s windows "
    "every 1 s"
)


@functools.cache
def _scorer():  # -> speechmos.dnsmos.DNSMOS
    import onnxruntime as ort

    with warnings.catch_warnings():  # librosa/numba deprecation noise on import
        warnings.simplefilter("ignore")
        from speechmos import dnsmos

    models = Path(dnsmos.__file__).parent / "dnsmos_models"
    primary, p808 = str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx")
    scorer = dnsmos.DNSMOS(primary, p808)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # speechmos opens its sessions with one thread per core; replace them with one-thread ones
    scorer.onnx_sess = ort.InferenceSession(primary, options)
    scorer.p808_onnx_sess = ort.InferenceSession(p808, options)
    return scorer


def _windows(audio: np.ndarray) -> list[np.ndarray]:
    """The windows speechmos scores: the clip doubled until it lasts 9.01 s, then 9.01 s windows
    every second (its own index arithmetic, so that the scores are the same to the bit)."""
    from speechmos.dnsmos import INPUT_LENGTH

    length = int(INPUT_LENGTH * SAMPLE_RATE)
    while len(audio) < length:
        audio = np.append(audio, audio)
    hops = int(np.floor(len(audio) / SAMPLE_RATE) - INPUT_LENGTH) + 1
    windows = (audio[int(i * SAMPLE_RATE): int((i + INPUT_LENGTH) * SAMPLE_RATE)]
               for i in range(hops))
    return [window for window in windows if len(window) >= length]


def _p808_only(audio: np.ndarray) -> dict[str, float]:
    """P.808 alone, as speechmos computes it: the P.835 model costs ~97 % of DNSMOS's time
    (0.38 against 0.013 CPU-s a window) and no table of the toolkit reads its scores."""
    scorer = _scorer()
    scores = [
        scorer.p808_onnx_sess.run(None, {"input_1": np.array(
            scorer.audio_melspec(audio=window[:-160])).astype("float32")[np.newaxis]})[0][0][0]
        for window in _windows(audio)
    ]
    return {"dnsmos_p808": float(np.mean(scores))}


def dnsmos_scores(wav_16k: np.ndarray, p835: bool = True) -> dict[str, float]:
    """`dnsmos_p808`, and unless `p835` is False `dnsmos_ovrl`, `dnsmos_sig`, `dnsmos_bak`, of a
    mono 16 kHz waveform; P.808 is the same either way."""
    audio = np.clip(np.asarray(wav_16k, dtype=np.float32), -1.0, 1.0)
    if not p835:
        return _p808_only(audio)
    scores = _scorer()(audio, SAMPLE_RATE, False)
    return {
        "dnsmos_p808": float(scores["p808_mos"]),
        "dnsmos_ovrl": float(scores["ovrl_mos"]),
        "dnsmos_sig": float(scores["sig_mos"]),
        "dnsmos_bak": float(scores["bak_mos"]),
    }
