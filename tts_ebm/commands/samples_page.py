"""Build a static samples page of an experiment folder (publishable as it is).

  tts-ebm samples-page --exp-dir egs/mini/exp --out egs/mini/exp/samples \
      --reference egs/mini/dump/test_ref_wavs --texts egs/mini/dump/test_text.txt

Per test utterance: its text and one row per system — the reference recordings, the vocoder's
copy synthesis (EXP/copy-synthesis/), and per criterion μ alone (K = 0) and the samples at each
--steps K — with an audio player, a mel spectrogram (one colour scale for all images) and the
per-utterance WER / DNSMOS / MCD that `tts-ebm evaluate` wrote to EXP/<criterion>/eval_K<k>/.
The header shows EXP/RESULTS.md and the synthesis and training settings. OUT/index.html uses
relative paths and no scripts: open it from disk or copy OUT to any web server.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exp-dir", type=Path, required=True,
                        help="recipe experiment folder (EXP/<criterion>/synth_K<k>/<id>.wav)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: EXP/samples); its audio/, mels/ and "
                             "results/ are replaced")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 4], metavar="K",
                        help="sampler steps K to show per criterion (default: 0 4; 0 is μ alone)")
    parser.add_argument("--reference", type=Path, default=None,
                        help="folder of the reference recordings <id>.wav (default: "
                             "EXP/reference/ when present)")
    parser.add_argument("--texts", type=Path, default=None,
                        help="'id|text' file with the text of each utterance")
    parser.add_argument("--n-utterances", type=int, default=None,
                        help="show only the first N utterance ids (default: all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from tts_ebm.errors import UserInputError
    from tts_ebm.samples_page import build_samples_page

    if args.n_utterances is not None and args.n_utterances < 1:
        raise UserInputError(f"--n-utterances must be at least 1, got {args.n_utterances}")
    out = args.out or args.exp_dir / "samples"
    report = build_samples_page(args.exp_dir, out, args.steps, args.reference, args.texts,
                                args.n_utterances, progress=not args.no_progress)
    for problem in report.problems:
        print(f"no image: {problem}")
    print(f"{report.n_utterances} utterances x {len(report.systems)} systems "
          f"({report.n_images} mel images, shared scale {report.vmin:.1f} .. {report.vmax:.1f})"
          f" -> {report.index}")
    return 0
