"""Offline intelligibility: pocketsphinx transcripts scored by word error rate against the text.

The recogniser is pocketsphinx's default US-English model (acoustic model, 3-gram language model
and dictionary shipped in the wheel) on 16 kHz mono int16 audio, one decoder per process. It is a
weak recogniser: on clean LJSpeech recordings it makes about one error in five words, so the WER
of a system is to be read against the WER of the reference recordings, never against 0.

Reference text and hypothesis go through the same normalisation (`normalize_for_wer`).
"""

from __future__ import annotations

import functools
import re
from importlib.metadata import version

import jiwer
import numpy as np

from tts_ebm.text.normalize import normalize_text

SAMPLE_RATE = 16000
RECOGNISER = (
    f"pocketsphinx {version('pocketsphinx')} default en-US model (en-us acoustic model, "
    "en-us.lm.bin, cmudict-en-us.dict), 16 kHz mono int16"
)
NORMALIZATION = (
    "tts_ebm normalize_text (lowercase; numbers, currency, ordinals, abbreviations spelt out), "
    "then every character except a-z, 0-9 and word-internal apostrophes becomes a space, "
    "whitespace collapsed"
)
_NOT_WORD = re.compile(r"[^a-z0-9']+")
_LOOSE_APOSTROPHE = re.compile(r"(?<![a-z0-9])'|'(?![a-z0-9])")


def normalize_for_wer(text: str) -> str:
    """'Mr. Smith paid $5 — "twice".' -> 'mister smith paid five dollars twice'."""
    text = _NOT_WORD.sub(" ", normalize_text(text))
    return " ".join(_LOOSE_APOSTROPHE.sub(" ", text).split())


@functools.cache
def _decoder():  # -> pocketsphinx.Decoder
    from pocketsphinx import Decoder

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


def transcribe(wav_16k: np.ndarray) -> str:
    """pocketsphinx's best hypothesis (filler words excluded) for a mono 16 kHz float waveform."""
    pcm = (np.clip(np.asarray(wav_16k, dtype=np.float64), -1.0, 1.0) * 32767.0).astype(np.int16)
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return hypothesis.hypstr if hypothesis is not None else ""


def word_errors(reference: str, hypothesis: str) -> dict[str, int | float | str]:
    """Word errors (S + D + I) and reference words after normalising both texts.

    An empty normalised reference has no defined WER; the caller gets `reference_words == 0`
    and `wer` None.
    """
    ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
    n_words = len(ref.split())
    if n_words == 0:
        errors = len(hyp.split())
    else:
        counts = jiwer.process_words(ref, hyp)
        errors = counts.substitutions + counts.deletions + counts.insertions
    return {
        "wer": errors / n_words if n_words else None,
        "word_errors": errors,
        "reference_words": n_words,
        "asr_hypothesis": hyp,
    }
