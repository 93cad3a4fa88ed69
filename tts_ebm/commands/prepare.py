"""Prepare a corpus: get LJSpeech or build the offline mini corpus, write manifests, extract features.

  tts-ebm prepare ljspeech --root data/LJSpeech [--download] [--manifest-dir data/manifests]
  tts-ebm prepare mini --out data/mini [--voice hts-slt|espeak --n-train 240 --n-val 12 --n-test 12]
  tts-ebm prepare features --manifest-dir data/manifests --out dump [--workers 2]

Every step is idempotent: rerunning skips what is already done and resumes what was interrupted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from data_prep.voices import DEFAULT_VOICE, VOICES


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
        help="offline corpus of short LJSpeech sentences spoken by a local voice",
        description="Speak short LJSpeech sentences (ids from the standard split) with a local "
        "voice into OUT/wavs as 22 050 Hz 16-bit mono, write OUT/metadata.csv in the LJSpeech "
        "layout and manifests to OUT/manifests. hts-slt needs `apt-get install festival "
        "festvox-us-slt-hts`, espeak needs espeak-ng. A rerun keeps finished wavs.",
    )
    mini.add_argument("--out", type=Path, required=True, help="corpus folder to create or complete")
    mini.add_argument(
        "--voice",
        choices=list(VOICES),
        default=DEFAULT_VOICE,
        help=f"{'; '.join(f'{name}: {v.description}' for name, v in VOICES.items())} "
        f"(default: {DEFAULT_VOICE})",
    )
    mini.add_argument("--n-train", type=int, default=240, help="train utterances (default: 240)")
    mini.add_argument("--n-val", type=int, default=12, help="validation utterances (default: 12)")
    mini.add_argument("--n-test", type=int, default=12, help="test utterances (default: 12)")
    mini.add_argument("--seed", type=int, default=0, help="sentence selection seed (default: 0)")
    mini.add_argument(
        "--max-chars",
        type=int,
        default=70,
        help="longest sentence to choose, in characters, from 20 up (default: 70, about 4 s of "
        "speech: 2608 train, 20 val, 107 test sentences; 100: 5975/50/230; 150: 11799/97/469)",
    )
    mini.add_argument(
        "--workers", type=int, default=2, help="voice processes speaking at once (default: 2)"
    )

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

        report = build_mini_corpus(
            args.out,
            args.n_train,
            args.n_val,
            args.n_test,
            args.seed,
            workers=args.workers,
            voice=args.voice,
            max_chars=args.max_chars,
        )
        print(f"{report} -> {args.out / 'manifests'}")
    else:
        from data_prep.extract import prepare_features

        print(prepare_features(args.manifest_dir, args.out, workers=args.workers))
    return 0
