"""Corpora by name: one plug-in module per corpus and one registry line each.

`tts-ebm prepare CORPUS` and `recipes/tts.sh --corpus CORPUS` only go through this registry, so a
new corpus is a new module here that meets the `Corpus` protocol below and one line in CORPORA
(tests/test_corpora.py holds every registered module to the protocol).

Manifests may be accompanied by MANIFEST_DIR/corpus.json ({"language": espeak-ng code}); the
feature stage reads the phonemizer language from it (default: en-us).
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Protocol, runtime_checkable

from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text

# corpus name -> module under data_prep.corpora
CORPORA: dict[str, str] = {
    "mini": "mini",
    "ljspeech": "ljspeech",
    "folder": "folder",
}
CORPUS_INFO = "corpus.json"
DEFAULT_LANGUAGE = "en-us"


@runtime_checkable
class Corpus(Protocol):
    """What a corpus plug-in module provides."""

    DESCRIPTION: str  # one line for --help

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Its own options, besides --data-dir, --manifest-dir and --workers."""

    def corpus_dir(self, data_dir: Path) -> Path:
        """The corpus folder inside a recipe's data_dir."""

    def manifest_dir(self, corpus: Path) -> Path:
        """Where its {train,val,test}.tsv manifests go."""

    def prepare(self, args: argparse.Namespace) -> str:
        """Build or find the corpus, write the manifests; a one-paragraph summary."""


def names() -> list[str]:
    """Registered corpus names, in registry order."""
    return list(CORPORA)


def get_corpus(name: str) -> Corpus:
    """The plug-in module of `name`; UserInputError lists the valid names."""
    if name not in CORPORA:
        raise UserInputError(f"unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}")
    module = importlib.import_module(f"data_prep.corpora.{CORPORA[name]}")
    if not isinstance(module, Corpus):
        raise TypeError(f"data_prep.corpora.{CORPORA[name]} does not meet the Corpus protocol")
    return module


def write_corpus_info(manifest_dir: Path, language: str) -> None:
    """Record what the feature stage must know about the corpus (its phonemizer language)."""
    manifest_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(manifest_dir / CORPUS_INFO, json.dumps({"language": language}) + "\n")


def read_language(manifest_dir: Path) -> str:
    """The corpus's espeak-ng language code (en-us for manifests written without corpus.json)."""
    path = Path(manifest_dir) / CORPUS_INFO
    if not path.is_file():
        return DEFAULT_LANGUAGE
    return str(json.loads(path.read_text()).get("language", DEFAULT_LANGUAGE))
