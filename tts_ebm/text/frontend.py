"""Text to token ids: normalise, phonemise, encode — the one path used for training and synthesis."""

from __future__ import annotations

import unicodedata

from tts_ebm.errors import UserInputError
from tts_ebm.text.normalize import normalize_text
from tts_ebm.text.phonemize import LANGUAGE, phonemize
from tts_ebm.text.symbols import PUNCTUATION, SymbolTable


def is_speakable(phonemes: str) -> bool:
    """True when the phoneme string holds more than spaces and punctuation."""
    return any(ch not in PUNCTUATION and not ch.isspace() for ch in phonemes)


def normalize_for(text: str, language: str = LANGUAGE) -> str:
    """English text gets the English normaliser; other languages only lower case and single
    spaces, since that normaliser spells English words and strips accents."""
    if language.startswith("en"):
        return normalize_text(text)
    return " ".join(unicodedata.normalize("NFC", text).split()).lower()


def text_to_ids(text: str, table: SymbolTable, language: str = LANGUAGE) -> list[int]:
    """Token ids for one utterance; UserInputError if the text has nothing to say or holds a
    phoneme symbol the model was not trained with."""
    normalized = normalize_for(text, language)
    if not normalized:
        raise UserInputError(f"text is empty after normalisation: {text!r}")
    phonemes = phonemize([normalized], language)[0]
    if not is_speakable(phonemes):
        raise UserInputError(f"text yields no phonemes (nothing to speak): {text!r}")
    return table.encode(phonemes, context=f"text {text!r}")
