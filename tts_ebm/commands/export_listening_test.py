"""Export a blind listening test (webMUSHRA MUSHRA / MOS pages, or a crowdsourcing CSV).

Uses the utterances (`<id>.wav`) present in every --system folder (and --reference); ids a
folder lacks are reported. Every stimulus is mixed to mono, resampled to --sample-rate and
loudness-normalised (ITU-R BS.1770 integrated loudness, default -23 LUFS, peaks kept under
-1 dBFS by a look-ahead limiter; files that still miss the target by > 0.5 LU are named in a
warning). webMUSHRA stimuli are dual-mono 16-bit stereo; MUSHRA trials are padded with
silence to one length and include the hidden reference plus the 3.5/7 kHz anchors, at most
12 rated conditions per page. File names are random ids; OUT/key.csv maps them back and must
not be given to listeners.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tts_ebm.listening.collect import build_conditions, parse_named_dirs
from tts_ebm.listening.export import FORMATS, ExportOptions, export_listening_test


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--system",
        action="append",
        default=[],
        metavar="NAME=DIR",
        required=True,
        help="a system's folder of <id>.wav files (repeat per system)",
    )
    parser.add_argument("--reference", type=Path, help="natural-speech folder (MUSHRA reference)")
    parser.add_argument(
        "--anchor",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="extra anchor condition folder (repeatable)",
    )
    parser.add_argument("--out", type=Path, required=True, help="new/empty output folder")
    parser.add_argument("--format", choices=FORMATS, default="webmushra-mos")
    parser.add_argument("--n-utterances", type=int, help="random subset of the common ids")
    parser.add_argument(
        "--seed", type=int, default=0, help="seeds the subset and the orders (ids are always fresh)"
    )
    parser.add_argument("--loudness", type=float, default=-23.0, help="target LUFS (default -23)")
    parser.add_argument("--sample-rate", type=int, default=22050, help="output rate in Hz")
    parser.add_argument("--texts", type=Path, help="'id|text' file for the manifest's text column")
    parser.add_argument("--base-url", help="URL prefix of the stimuli in manifest.csv")
    parser.add_argument(
        "--test-id",
        default="tts_ebm_listening_test",
        help="webMUSHRA testId (names the config and the results folder)",
    )


def run(args: argparse.Namespace) -> int:
    conditions = build_conditions(
        parse_named_dirs(args.system, "--system"),
        args.reference,
        parse_named_dirs(args.anchor, "--anchor"),
    )
    options = ExportOptions(
        out=args.out,
        format=args.format,
        loudness=args.loudness,
        sample_rate=args.sample_rate,
        n_utterances=args.n_utterances,
        seed=args.seed,
        texts=args.texts,
        base_url=args.base_url,
        test_id=args.test_id,
    )
    report = export_listening_test(conditions, options)
    low, high = report.loudness_range
    print(f"{report.n_stimuli} stimuli from {len(report.utterance_ids)} utterances -> {args.out}")
    print(f"loudness {low} .. {high} LUFS (target {args.loudness})")
    for source, rate in report.resampled.items():
        print(f"resampled {source}: {rate} -> {args.sample_rate} Hz")
    for source in report.limited:
        print(f"peak-limited to stay under -1 dBFS: {source}")
    print(f"key (keep private): {args.out / 'key.csv'}; instructions: {args.out / 'README.md'}")
    return 0
