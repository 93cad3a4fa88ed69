"""The fixed phoneme-symbol inventory and its id mapping (saved with every checkpoint)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

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


@dataclass
class SymbolTable:
    """Maps phoneme characters to ids; id 0 is padding and never produced by `encode`."""

    symbols: list[str]
    _ids: dict[str, int] = field(init=False, repr=False)
    _warned: set[str] = field(init=False, repr=False, default_factory=set)

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

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def pad_id(self) -> int:
        return 0

    def encode(self, phonemes: str) -> list[int]:
        """Ids of the known symbols; unknown ones are dropped with one warning per new symbol."""
        unknown = {ch for ch in phonemes if ch not in self._ids} - self._warned
        if unknown:
            self._warned |= unknown
            names = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in sorted(unknown))
            warnings.warn(
                f"dropping phoneme symbols not in the symbol table: {names}", stacklevel=2
            )
        return [self._ids[ch] for ch in phonemes if ch in self._ids]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.symbols[i] for i in ids if i != self.pad_id)

    def to_dict(self) -> dict[str, list[str]]:
        return {"symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> SymbolTable:
        return cls(list(data["symbols"]))
