"""Split long text into chunks the acoustic model can synthesise one at a time.

Chunks are cut at sentence ends first, then at commas, then between words; nothing is dropped.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
_CLAUSE_END = re.compile(r"(?<=,)\s+")


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Greedily join consecutive pieces with spaces while the result fits in max_chars."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] += " " + piece
        else:
            chunks.append(piece)
    return chunks


def split_sentences(text: str, max_chars: int = 200) -> list[str]:
    """Sentences of `text`, each at most max_chars long unless a single word is longer."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            chunks.append(sentence)
            continue
        for clause in _pack(_CLAUSE_END.split(sentence), max_chars):
            chunks.extend(
                [clause] if len(clause) <= max_chars else _pack(clause.split(), max_chars)
            )
    return chunks
