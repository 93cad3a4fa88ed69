"""Check a corpus before training and list every problem by utterance id.

PATH is a corpus folder (metadata.csv with id|text lines, wavs/<id>.wav) or a manifest folder
({train,val,test}.tsv from `tts-ebm prepare`). Faults (the utterance cannot be trained on):
missing, unreadable, empty or silent wav, empty text, text that yields no phonemes. Warnings
(suspicious only): clipping, an utterance far longer than the rest (over 3x the median and
15 s), a sample rate other than the corpus's usual one, a wav that metadata.csv does not list.

Exit status: 0 when nothing is faulty (warnings are printed), 1 when any utterance is faulty.
Nothing is dropped: fix or remove the faulty utterances yourself and run again.

examples:
  tts-ebm check-data my_voice
  tts-ebm check-data data/mini/manifests --report data/mini/manifests/check_data.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="corpus folder or manifest folder")
    parser.add_argument(
        "--language",
        help="espeak-ng language code for the phoneme check (default: the corpus's, else en-us)",
    )
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from data_prep.check import check_corpus
    from tts_ebm.io import atomic_write_text

    report = check_corpus(args.path, args.language, progress=not args.no_progress)
    text = str(report)
    print(text)
    if args.report:
        atomic_write_text(args.report, text + "\n")
    return 1 if report.faults else 0
