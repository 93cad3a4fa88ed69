"""Corpus plug-in `mini`: short LJSpeech sentences spoken offline by a local voice."""

from __future__ import annotations

import argparse
from pathlib import Path

from data_prep.corpora import DEFAULT_LANGUAGE, write_corpus_info
from data_prep.voices import DEFAULT_VOICE, VOICES

DESCRIPTION = "offline corpus of short LJSpeech sentences spoken by a local voice"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--voice",
        choices=list(VOICES),
        default=DEFAULT_VOICE,
        help=f"{'; '.join(f'{name}: {v.description}' for name, v in VOICES.items())} "
        f"(default: {DEFAULT_VOICE})",
    )
    parser.add_argument("--n-train", type=int, default=240, help="train utterances (default: 240)")
    parser.add_argument("--n-val", type=int, default=12, help="validation utterances (default: 12)")
    parser.add_argument("--n-test", type=int, default=12, help="test utterances (default: 12)")
    parser.add_argument("--seed", type=int, default=0, help="sentence selection seed (default: 0)")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=70,
        help="longest sentence to choose, in characters, from 20 up (default: 70, about 4 s of "
        "speech: 2608 train, 20 val, 107 test sentences; 100: 5975/50/230; 150: 11799/97/469)",
    )


def corpus_dir(data_dir: Path) -> Path:
    """The corpus folder inside a recipe's data_dir."""
    return data_dir / "mini"


def manifest_dir(corpus: Path) -> Path:
    return corpus / "manifests"


def prepare(args: argparse.Namespace) -> str:
    from data_prep.mini import build_mini_corpus

    report = build_mini_corpus(
        args.data_dir,
        args.n_train,
        args.n_val,
        args.n_test,
        args.seed,
        workers=args.workers,
        voice=args.voice,
        max_chars=args.max_chars,
    )
    write_corpus_info(args.manifest_dir, DEFAULT_LANGUAGE)
    return f"{report} -> {args.manifest_dir}"
