"""Corpora by name: one plug-in module per corpus and one registry line each.

`tts-ebm prepare CORPUS` and `recipes/tts.sh --corpus CORPUS` only go through this registry, so a
new corpus is a new module here with:

  DESCRIPTION: str                          one line for --help
  add_arguments(parser)                     its own options (besides --data-dir and --workers)
  corpus_dir(data_dir: Path) -> Path        the corpus folder inside a recipe's data_dir
  manifest_dir(corpus: Path) -> Path        where its {train,val,test}.tsv manifests go
  prepare(args) -> str                      build/find the corpus, write the manifests, a summary

Manifests may be accompanied by MANIFEST_DIR/corpus.json ({"language": espeak-ng code}); the
feature stage reads the phonemizer language from it (default: en-us).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType

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


def get_corpus(name: str) -> ModuleType:
    if name not in CORPORA:
        raise UserInputError(f"unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}")
    return importlib.import_module(f"data_prep.corpora.{CORPORA[name]}")


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
