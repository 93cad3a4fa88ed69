"""How much of its start noise a sampler removes: a cheap look before a tuning grid is spent.

First-order inference starts at x_0 = mu + tau * eps and takes K steps on the energy. For each
checkpoint and setting this prints the residual fraction |x_K - mu|^2 / |x_0 - mu|^2 over the
first --sentences lines of a text file, with the same seed for x_0 and x_K. Below 1 the steps
pull the start towards mu's neighbourhood (delta: 0.20 at K = 2, tau 0.3); at 1 they leave the
noise as it is; above 1 they push it away (a step too large for a stiff field diverges). It is
not a quality measure (a field that sharpens mu also moves away from it): it shows which step
sizes are worth judging. Used for egs/mini_bench/tune_grid.yaml's nce and ssm step sizes.

  .venv/bin/python benchmarks/start_noise_probe.py --text-file exp/tune/tune_text.txt \\
      --checkpoint exp/tune/ssm/noised/train/checkpoints/last.ckpt \\
      --setting steps=10,step_size=0.01,temperature=0.5 --setting steps=50,step_size=0.01
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from tts_ebm import Synthesizer
from tts_ebm.errors import UserInputError


def parse_setting(text: str) -> dict[str, str]:
    """'steps=10,step_size=0.01' -> sampler overrides (checked by the synthesizer's controls)."""
    pairs = [item.partition("=") for item in text.split(",") if item]
    if not pairs or any(not key or not sep for key, sep, _ in pairs):
        raise UserInputError(f"--setting {text!r}: want key=value[,key=value...]")
    return {key: value for key, _, value in pairs}


def generate(synth: Synthesizer, texts: list[str], seed: int, **controls: object) -> list[torch.Tensor]:
    """The acoustic model's mels (no vocoder) of each text, one batch of sentences a text."""
    sampler = synth.build_sampler(**controls)
    mels = []
    for text in texts:
        out = synth.generate_batch([ids for _, ids in synth.sentences(text)], sampler,
                                   generator=torch.Generator().manual_seed(seed))
        mels.append(out.mel)
    return mels


def residual_fraction(synth: Synthesizer, texts: list[str], setting: dict[str, str],
                      seed: int = 0) -> float:
    """|x_K - mu|^2 / |x_0 - mu|^2 summed over the texts (durations are deterministic, so the
    three mels of a text have one length)."""
    mu = generate(synth, texts, seed, steps=0, temperature=0)
    start = generate(synth, texts, seed, **{**setting, "steps": 0})
    end = generate(synth, texts, seed, **setting)
    moved = sum(float(((x - m) ** 2).sum()) for x, m in zip(end, mu))
    noise = sum(float(((x - m) ** 2).sum()) for x, m in zip(start, mu))
    if noise == 0:
        raise UserInputError(f"setting {setting} starts at mu (temperature 0): nothing to remove")
    return moved / noise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--checkpoint", type=Path, action="append", required=True,
                        help="a checkpoint (repeat for several)")
    parser.add_argument("--setting", type=parse_setting, action="append", required=True,
                        help="sampler overrides key=value,... (repeat for several)")
    parser.add_argument("--text-file", type=Path, required=True, help="id|text lines")
    parser.add_argument("--sentences", type=int, default=6, help="lines used (default: 6)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines = args.text_file.read_text(encoding="utf-8").splitlines()[: args.sentences]
    texts = [line.split("|", 1)[1].strip() for line in lines if "|" in line]
    if not texts:
        raise UserInputError(f"no id|text lines in {args.text_file}")
    for checkpoint in args.checkpoint:
        synth = Synthesizer(checkpoint, device="cpu")
        for setting in args.setting:
            fraction = residual_fraction(synth, texts, setting)
            print(f"{checkpoint}  {setting}  residual start noise {fraction:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
