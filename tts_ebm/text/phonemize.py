"""Grapheme-to-phoneme conversion with phonemizer's espeak-ng backend (IPA, stress, punctuation).

The language is an espeak-ng code (en-us by default; a corpus option). Creating a backend costs
~100 ms and loads the shared library, so one instance per language is kept per process; results
are cached by (language, text) because training data and synthesis repeat sentences. The
espeak-ng library is not thread-safe: one lock serialises its calls (`tts-ebm serve` checks a
request's text while its worker thread synthesises another).
"""

from __future__ import annotations

import functools
import threading

from tts_ebm.errors import UserInputError

LANGUAGE = "en-us"
_CACHE: dict[tuple[str, str], str] = {}
_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _backend(language: str = LANGUAGE):
    from phonemizer.backend import EspeakBackend

    try:
        return EspeakBackend(
            language, preserve_punctuation=True, with_stress=True, language_switch="remove-flags"
        )
    except RuntimeError as error:  # no espeak-ng library, or a language it does not know
        raise UserInputError(
            f"phonemizer cannot use espeak-ng for language {language!r} ({error}); install "
            "espeak-ng (`apt-get install espeak-ng`) and use a code `espeak-ng --voices` lists"
        ) from error


def phonemize(texts: list[str], language: str = LANGUAGE) -> list[str]:
    """IPA phonemes for each text; words separated by single spaces, punctuation kept.

    Texts that are empty (or only whitespace) give "". Newlines are treated as spaces, because
    phonemizer reads its batch line by line.
    """
    cleaned = [" ".join(text.split()) for text in texts]
    with _LOCK:
        _phonemize_into_cache(
            sorted({text for text in cleaned if text and (language, text) not in _CACHE}), language)
        return [_CACHE[(language, text)] if text else "" for text in cleaned]


def _phonemize_into_cache(todo: list[str], language: str) -> None:
    from phonemizer.separator import Separator

    if todo:
        separator = Separator(phone="", syllable="", word=" ")
        # phonemizer drops empty results, which would misalign a batch; we never send empty lines
        # and check the count anyway.
        backend = _backend(language)
        result = backend.phonemize(todo, separator=separator, strip=True, njobs=1)
        if len(result) != len(todo):
            result = [backend.phonemize([t], separator=separator, strip=True)[0] for t in todo]
        _CACHE.update(((language, t), " ".join(p.split())) for t, p in zip(todo, result))
