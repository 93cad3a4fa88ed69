"""Analyse listening-test results (webMUSHRA mushra.csv / lss.csv, or a crowdsourcing CSV).

RESULTS is a CSV file or a webMUSHRA results/<testId>/ folder; --key is the key.csv of the
export. Rows naming stimuli that are not in the key are an error (a wrong key would silently
give wrong numbers). Reports per system the mean with a 95 % Student-t interval and the median
with a 95 % bootstrap interval; for MUSHRA, listeners rating the hidden reference below 90 in
more than 15 % of trials are excluded first (ITU-R BS.1534-3). Systems are compared pairwise
(Wilcoxon signed-rank on per-listener/utterance pairs, Mann-Whitney U when ratings are not
paired), Holm-corrected. Writes results.md, results.json and scores.png to --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tts_ebm.listening.analyze import analyze_results, to_markdown, write_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="results CSV or webMUSHRA results folder")
    parser.add_argument("--key", type=Path, required=True, help="key.csv written by the export")
    parser.add_argument("--out", type=Path, help="folder for results.md/.json and scores.png")
    parser.add_argument(
        "--listener-column",
        help="column identifying listeners (default: session_uuid, listener_id or worker_id)",
    )


def run(args: argparse.Namespace) -> int:
    analysis = analyze_results(args.results, args.key, args.listener_column)
    print(to_markdown(analysis), end="")
    if args.out:
        written = write_report(analysis, args.out)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0
