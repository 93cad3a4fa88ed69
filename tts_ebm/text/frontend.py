"""Text to token ids: normalise, phonemise, encode — the one path used for training and synthesis."""

from __future__ import annotations

from tts_ebm.errors import UserInputError
from tts_ebm.text.normalize import normalize_text
from tts_ebm.text.phonemize import phonemize
from tts_ebm.text.symbols import PUNCTUATION, SymbolTable


def is_speakable(phonemes: str) -> bool:
    """True when the phoneme string holds more than spaces and punctuation."""
    return any(ch not in PUNCTUATION and not ch.isspace() for ch in phonemes)


def text_to_ids(text: str, table: SymbolTable) -> list[int]:
    """Token ids for one utterance; UserInputError if the text has nothing to say."""
    normalized = normalize_text(text)
    if not normalized:
        raise UserInputError(f"text is empty after normalisation: {text!r}")
    phonemes = phonemize([normalized])[0]
    if not is_speakable(phonemes):
        raise UserInputError(f"text yields no phonemes (nothing to speak): {text!r}")
    return table.encode(phonemes)
