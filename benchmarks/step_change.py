"""What the energy steps change in the mel: the mean absolute log-mel difference between two
`--save-mel` folders of the same sentences (e.g. synth_K2 against synth_K0, μ alone), per band
of 20 mel bins, over every frame of every utterance.

    python benchmarks/step_change.py egs/mini/exp/delta/synth_K0 egs/mini/exp/delta/synth_K2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

BAND = 20  # mel bins per band


def band_change(before: Path, after: Path) -> tuple[np.ndarray, int]:
    """Mean |after - before| per band (frame-weighted) and the number of utterances paired."""
    total, frames, n = np.zeros(80), 0, 0
    for path in sorted(before.glob("*.npy")):
        other = after / path.name
        if not other.is_file():
            continue
        a, b = np.load(path), np.load(other)
        if a.shape != b.shape:
            raise ValueError(f"{path.name}: shapes differ ({a.shape} against {b.shape})")
        total += np.abs(b - a).sum(axis=1)
        frames, n = frames + a.shape[1], n + 1
    if n == 0:
        raise ValueError(f"no <id>.npy of {before} has a partner in {after}")
    per_bin = total / frames
    return per_bin.reshape(-1, BAND).mean(axis=1), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="folder of <id>.npy raw log-mels (e.g. μ)")
    parser.add_argument("after", type=Path, help="the same ids after the steps")
    args = parser.parse_args()
    bands, n = band_change(args.before, args.after)
    print(f"mean |after - before| of the raw log-mel, {n} utterances, per {BAND}-bin band "
          "(lowest first): " + ", ".join(f"{v:.3f}" for v in bands))


if __name__ == "__main__":
    main()
