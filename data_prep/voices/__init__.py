"""Voices of the offline mini corpus, by name: each speaks sentences into wav files.

A voice only speaks (at its own sample rate); data_prep.mini chooses the sentences, converts the
audio to the corpus format and writes the LJSpeech layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from data_prep.voices import espeak, festival
from tts_ebm.errors import UserInputError

# (text, wav path) pairs and a worker count -> each wav path once that file is written, in order.
SpeakMany = Callable[[Sequence[tuple[str, Path]], int], Iterator[Path]]


@dataclass(frozen=True)
class Voice:
    description: str
    require: Callable[[], None]  # raises UserInputError naming what to install
    speak_many: SpeakMany


VOICES: dict[str, Voice] = {
    "hts-slt": Voice(
        "festival with the CMU ARCTIC slt HTS voice (a female US-English speaker)",
        festival.require,
        festival.speak_many,
    ),
    "espeak": Voice("espeak-ng en-us (a robotic formant voice)", espeak.require, espeak.speak_many),
    "kal": Voice(
        "festival's kal diphone voice (a male US-English speaker, 16 kHz)",
        *festival.speaker(festival.KAL),
    ),
    "ca-ona": Voice(
        "festival's UPC ona HTS voice (a female Catalan speaker, 16 kHz)",
        *festival.speaker(festival.ONA),
    ),
}
DEFAULT_VOICE = "hts-slt"


def get_voice(name: str) -> Voice:
    if name not in VOICES:
        raise UserInputError(f"unknown voice {name!r}; choose one of {', '.join(VOICES)}")
    return VOICES[name]
