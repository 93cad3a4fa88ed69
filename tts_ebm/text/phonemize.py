"""Grapheme-to-phoneme conversion with phonemizer's espeak-ng backend (en-us IPA, stress, punctuation).

Creating an espeak backend costs ~100 ms and loads the shared library, so one instance is kept
per process; results are cached by text because training data and synthesis repeat sentences.
The espeak-ng library is not thread-safe: one lock serialises its calls (`tts-ebm serve` checks
a request's text while its worker thread synthesises another).
"""

from __future__ import annotations

import functools
import threading

from tts_ebm.errors import UserInputError

LANGUAGE = "en-us"
_CACHE: dict[str, str] = {}
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _backend():
    from phonemizer.backend import EspeakBackend

    try:
        return EspeakBackend(
            LANGUAGE, preserve_punctuation=True, with_stress=True, language_switch="remove-flags"
        )
    except RuntimeError as error:  # raised when the espeak-ng library is not installed
        raise UserInputError(
            f"phonemizer cannot use espeak-ng ({error}); install it with `apt-get install espeak-ng`"
        ) from error


def phonemize(texts: list[str]) -> list[str]:
    """IPA phonemes for each text; words separated by single spaces, punctuation kept.

    Texts that are empty (or only whitespace) give "". Newlines are treated as spaces, because
    phonemizer reads its batch line by line.
    """
    cleaned = [" ".join(text.split()) for text in texts]
    with _LOCK:
        _phonemize_into_cache(sorted({text for text in cleaned if text and text not in _CACHE}))
        return [_CACHE[text] if text else "" for text in cleaned]


def _phonemize_into_cache(todo: list[str]) -> None:
    from phonemizer.separator import Separator

    if todo:
        separator = Separator(phone="", syllable="", word=" ")
        # phonemizer drops empty results, which would misalign a batch; we never send empty lines
        # and check the count anyway.
        result = _backend().phonemize(todo, separator=separator, strip=True, njobs=1)
        if len(result) != len(todo):
            result = [_backend().phonemize([t], separator=separator, strip=True)[0] for t in todo]
        _CACHE.update(zip(todo, (" ".join(p.split()) for p in result)))
