"""Corpus plug-in `ljspeech`: LJSpeech-1.1 with the standard 12500/100/500 split."""

from __future__ import annotations

import argparse
from pathlib import Path

from data_prep.corpora import DEFAULT_LANGUAGE, write_corpus_info

DESCRIPTION = "LJSpeech-1.1 manifests for the standard 12500/100/500 split"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--download",
        action="store_true",
        help="download the 2.6 GB archive if missing (resumes a partial download)",
    )


def corpus_dir(data_dir: Path) -> Path:
    """The corpus folder inside a recipe's data_dir."""
    return data_dir


def manifest_dir(corpus: Path) -> Path:
    return corpus / "manifests"


def prepare(args: argparse.Namespace) -> str:
    from data_prep.ljspeech import prepare as prepare_ljspeech

    report = prepare_ljspeech(args.data_dir, args.manifest_dir, download_missing=args.download)
    write_corpus_info(args.manifest_dir, DEFAULT_LANGUAGE)
    return f"{report} -> {args.manifest_dir}"
