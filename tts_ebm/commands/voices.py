"""List the voices --checkpoint can name: those shipped with this package, then the checkpoints
in the Hugging Face cache (`hf:` specs fetched before), each with its model card's headline.

  tts-ebm voices
"""

from __future__ import annotations

import argparse

from tts_ebm import voices


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the list is short."""


def run(args: argparse.Namespace) -> int:
    found = voices.listed()
    if not found:
        print("no voices: none ships with this install and the Hugging Face cache holds no "
              "checkpoint; train one (`make demo`) and pass its path as --checkpoint")
        return 0
    width = max(len(voice.spec) for voice in found)
    for voice in found:
        print(f"{voice.spec:<{width}}  {voice.headline or '(no model card)'}\n"
              f"{'':<{width}}  {voice.path}")
    return 0
