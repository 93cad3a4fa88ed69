"""Prepare a corpus: get LJSpeech or build the offline mini corpus, write manifests, extract features.

  tts-ebm prepare ljspeech --root data/LJSpeech [--download] [--manifest-dir data/manifests]
  tts-ebm prepare mini --out data/mini [--n-train 240 --n-val 12 --n-test 12 --seed 0]
  tts-ebm prepare features --manifest-dir data/manifests --out dump [--workers 2]

Every step is idempotent: rerunning skips what is already done and resumes what was interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="corpus", metavar="STEP", required=True)

    lj = sub.add_parser(
        "ljspeech",
        help="LJSpeech-1.1 manifests for the standard 12500/100/500 split",
        description="Find (or with --download fetch, verify and unpack) LJSpeech-1.1 under --root "
        "and write {train,val,test}.tsv manifests for the standard Tacotron 2 / VITS split.",
    )
    lj.add_argument(
        "--root",
        type=Path,
        required=True,
        help="folder holding LJSpeech-1.1/ (or its archive, or where to download it)",
    )
    lj.add_argument(
        "--download",
        action="store_true",
        help="download the 2.6 GB archive if missing (resumes a partial download)",
    )
    lj.add_argument(
        "--manifest-dir",
        type=Path,
        default=None,
        help="where to write the manifests (default: ROOT/manifests)",
    )

    mini = sub.add_parser(
        "mini",
        help="offline corpus of short LJSpeech sentences spoken by espeak-ng",
        description="Speak short LJSpeech sentences with espeak-ng into OUT/wavs, write "
        "OUT/metadata.csv in the LJSpeech layout and manifests to OUT/manifests. Needs espeak-ng.",
    )
    mini.add_argument("--out", type=Path, required=True, help="corpus folder to create or complete")
    mini.add_argument("--n-train", type=int, default=240, help="train utterances (default: 240)")
    mini.add_argument("--n-val", type=int, default=12, help="validation utterances (default: 12)")
    mini.add_argument("--n-test", type=int, default=12, help="test utterances (default: 12)")
    mini.add_argument("--seed", type=int, default=0, help="sentence selection seed (default: 0)")

    feats = sub.add_parser(
        "features",
        help="log-mels, phonemes and statistics from manifests",
        description="Extract DUMP/mels/<id>.npy (HiFi-GAN log-mel), DUMP/{split}.tsv with "
        "phonemes, DUMP/stats.json (train mel mean/std) and DUMP/skipped.tsv.",
    )
    feats.add_argument(
        "--manifest-dir",
        type=Path,
        required=True,
        help="folder with {train,val,test}.tsv from `prepare ljspeech|mini`",
    )
    feats.add_argument("--out", type=Path, required=True, help="feature dump folder")
    feats.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")


def run(args: argparse.Namespace) -> int:
    if args.corpus == "ljspeech":
        from data_prep.ljspeech import prepare

        manifest_dir = args.manifest_dir or args.root / "manifests"
        report = prepare(args.root, manifest_dir, download_missing=args.download)
        print(f"{report} -> {manifest_dir}")
    elif args.corpus == "mini":
        from data_prep.mini import build_mini_corpus

        report = build_mini_corpus(args.out, args.n_train, args.n_val, args.n_test, args.seed)
        print(f"{report} -> {args.out / 'manifests'}")
    else:
        from data_prep.extract import prepare_features

        print(prepare_features(args.manifest_dir, args.out, workers=args.workers))
    return 0
