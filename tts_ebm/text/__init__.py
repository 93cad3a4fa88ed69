"""Text front end: normalisation, espeak-ng phonemes (any language), symbol table, sentences."""

from tts_ebm.text.frontend import is_speakable, normalize_for, text_to_ids
from tts_ebm.text.normalize import normalize_text
from tts_ebm.text.phonemize import phonemize
from tts_ebm.text.sentences import split_sentences
from tts_ebm.text.symbols import SymbolTable

__all__ = [
    "SymbolTable",
    "is_speakable",
    "normalize_for",
    "normalize_text",
    "phonemize",
    "split_sentences",
    "text_to_ids",
]
