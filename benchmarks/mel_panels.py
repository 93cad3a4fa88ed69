"""Mels of one utterance from several systems, stacked on one colour scale in one PNG.

    python benchmarks/mel_panels.py --out mels.png reference=DUMP/mels/ID.npy \\
        before=EXP_A/base/synth_K2/ID.npy after=EXP_B/decunet/synth_K2/ID.npy

Each argument is LABEL=PATH to a raw log-mel `.npy` (80, T) as the recipe saves them
(`--save-mel`) or a `.wav` (its HiFi-GAN log-mel is computed). Panels share time and colour
axes, so that transitions, harmonics and over-smoothing can be compared by eye.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tts_ebm.samples_page.images import COLORMAP, shared_range, wav_mel


def load(path: Path) -> np.ndarray:
    return np.load(path) if path.suffix == ".npy" else wav_mel(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("panels", nargs="+",
                        help="LABEL=PATH (.npy raw log-mel or .wav; the last = splits)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--title", default="", help="figure title (e.g. the utterance text)")
    parser.add_argument("--bins", type=int, default=80,
                        help="show the lowest BINS mel bins (40: the pitch harmonics, larger)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, mels = zip(*((label, load(Path(path))[: args.bins]) for label, path in
                         (panel.rsplit("=", 1) for panel in args.panels)))
    vmin, vmax = shared_range(mels)
    width = max(m.shape[1] for m in mels)
    figure, axes = plt.subplots(len(mels), 1, figsize=(max(6, width / 40), 1.6 * len(mels)),
                                sharex=True, constrained_layout=True)
    for axis, label, mel in zip(np.atleast_1d(axes), labels, mels):
        axis.imshow(mel, origin="lower", aspect="auto", cmap=COLORMAP, vmin=vmin, vmax=vmax,
                    interpolation="nearest")
        axis.set_ylabel(label)
        axis.set_yticks([])
    np.atleast_1d(axes)[-1].set_xlabel("frame (11.6 ms)")
    if args.title:
        figure.suptitle(args.title)
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
