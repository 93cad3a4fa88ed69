"""Prepare a corpus (find, download or build it; write manifests) or extract its features.

  tts-ebm prepare folder --data-dir my_voice [--language ca --n-val 10 --n-test 20 --seed 0]
  tts-ebm prepare mini --out data/mini [--voice hts-slt|espeak --n-train 240 --n-val 12 ...]
  tts-ebm prepare ljspeech --root data/LJSpeech [--download]
  tts-ebm prepare features --manifest-dir DIR/manifests --out dump [--workers 2]

Corpora are plug-ins (data_prep.corpora). Every step is idempotent: rerunning skips what is
already done and resumes what was interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_prep.corpora import get_corpus, names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus", metavar="STEP", required=True)
    for name in names():
        corpus = get_corpus(name)
        corpus_parser = sub.add_parser(
            name, help=corpus.DESCRIPTION, description=(corpus.__doc__ or "").strip()
        )
        corpus_parser.add_argument(
            "--data-dir",
            "--root",
            "--out",
            type=Path,
            required=True,
            help="the corpus folder (--root and --out are older names of this option)",
        )
        corpus_parser.add_argument(
            "--manifest-dir",
            type=Path,
            default=None,
            help="where to write the manifests (default: DATA_DIR/manifests)",
        )
        corpus_parser.add_argument(
            "--workers", type=int, default=2, help="processes working at once (default: 2)"
        )
        corpus_parser.add_argument(
            "--print-dirs",
            action="store_true",
            help="only print the corpus folder and manifest folder, tab-separated, that a recipe "
            "with data_dir DATA_DIR uses, and exit (recipes/tts.sh asks this)",
        )
        corpus.add_arguments(corpus_parser)

    feats = sub.add_parser(
        "features",
        help="log-mels, phonemes, symbol table and statistics from manifests",
        description="Extract DUMP/mels/<id>.npy (HiFi-GAN log-mel), DUMP/{split}.tsv with "
        "phonemes (in the language of MANIFEST_DIR/corpus.json, default en-us), "
        "DUMP/symbols.json (language and the phoneme symbols the corpus uses), DUMP/stats.json "
        "(train mel mean/std) and DUMP/skipped.tsv.",
    )
    feats.add_argument(
        "--manifest-dir",
        type=Path,
        required=True,
        help="folder with {train,val,test}.tsv from `tts-ebm prepare CORPUS`",
    )
    feats.add_argument("--out", type=Path, required=True, help="feature dump folder")
    feats.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")


def run(args: argparse.Namespace) -> int:
    if args.corpus == "features":
        from data_prep.extract import prepare_features

        print(prepare_features(args.manifest_dir, args.out, workers=args.workers))
        return 0
    corpus = get_corpus(args.corpus)
    if args.print_dirs:
        folder = corpus.corpus_dir(args.data_dir)
        print(f"{folder}\t{args.manifest_dir or corpus.manifest_dir(folder)}")
        return 0
    args.manifest_dir = args.manifest_dir or corpus.manifest_dir(args.data_dir)
    print(corpus.prepare(args))
    return 0
