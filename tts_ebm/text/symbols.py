"""Phoneme-symbol inventories and their id mapping (saved with every checkpoint).

New dumps take the table from the symbols their corpus's phonemes contain (any language);
`default()` is the fixed English table that older checkpoints and dumps were trained with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tts_ebm.errors import UserInputError

PAD = "_"
SPACE = " "
PUNCTUATION = "!'(),-.:;?\""
# IPA letters and modifiers: the VITS/Glow-TTS inventory plus the symbols espeak-ng emits for
# English (ᵻ, syllabic mark U+0329, nasalisation U+0303). Phonemizing all 13 100 LJSpeech
# sentences uses a subset of this list (tests/test_text.py checks a sample).
IPA = (
    "abcdefhijklmnopqrstuvwxyz"
    "ɑɐɒæɓʙβɔɕçɗɖðʤəɘɚɛɜɝɞɟʄɡɠɢʛɦɧħɥʜɨɪʝɭɬɫɮʟɱɯɰŋɳɲɴøɵɸθœɶʘɹɺɾɻʀʁɽʂʃʈʧʉʊʋⱱʌɣɤʍχʎʏʑʐʒʔʡʕʢ"
    "ǀǁǂǃˈˌːˑʼʴʰʱʲʷˠˤ˞↓↑→↗↘ᵻ\u0329\u0303"
)


class UnknownSymbolError(UserInputError):
    """Phonemes hold a symbol the table (the model) does not know: never dropped silently."""


@dataclass
class SymbolTable:
    """Maps phoneme characters to ids; id 0 is padding and never produced by `encode`."""

    symbols: list[str]
    _ids: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (
            not self.symbols
            or self.symbols[0] != PAD
            or len(set(self.symbols)) != len(self.symbols)
        ):
            raise ValueError("symbol list must start with the pad symbol and hold no duplicates")
        self._ids = {symbol: index for index, symbol in enumerate(self.symbols)}

    @classmethod
    def default(cls) -> SymbolTable:
        return cls([PAD, SPACE, *PUNCTUATION, *IPA])

    @classmethod
    def from_phonemes(cls, phonemes: Iterable[str]) -> SymbolTable:
        """Pad, space and punctuation, then every other character the phoneme strings use."""
        fixed = [PAD, SPACE, *PUNCTUATION]
        used = {ch for text in phonemes for ch in text} - set(fixed)
        return cls([*fixed, *sorted(used)])

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, phonemes: str, context: str = "") -> list[int]:
        """Ids of the symbols; a symbol the table lacks (the model never saw it) is a
        UserInputError naming it, never a silent drop."""
        unknown = sorted({ch for ch in phonemes if ch not in self._ids})
        if unknown:
            names = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in unknown)
            where = f" in {context}" if context else ""
            raise UnknownSymbolError(
                f"phoneme symbol(s) {names}{where} (phonemes {phonemes!r}) are not in the model's "
                f"symbol table of {len(self) - 1} symbols: the training corpus never had them; "
                "rephrase the text, or train on a corpus (and language) that has them"
            )
        return [self._ids[ch] for ch in phonemes]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.symbols[i] for i in ids if i != self.pad_id)

    def to_dict(self) -> dict[str, list[str]]:
        return {"symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> SymbolTable:
        return cls(list(data["symbols"]))
