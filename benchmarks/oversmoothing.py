"""Mean versus sample: does the energy add the detail that the prior mean mu lacks?

MCD against a reference rewards the conditional mean: a perfect sample of p(x | text) sits
about sqrt(2) times farther from the reference than the mean does. So next to the distance to
the target this script reports two statistics of the mel itself, compared with the data:
- roughness: mean squared difference of consecutive frames (mu is piecewise constant per
  phoneme, so it is too smooth; residual sampler noise makes it too rough);
- global variance (GV): per-bin variance over time, averaged over bins (over-smoothing
  shrinks it, Toda & Tokuda 2007).
Alignment is the MAS path of the target, so lengths match and no DTW is involved.

  python benchmarks/oversmoothing.py --checkpoint exp/delta/train/checkpoints/last.ckpt \
      --dump dump/mini --steps 0 1 2 4 10
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from tts_ebm import samplers
from tts_ebm.training.checkpoint import load_for_inference
from tts_ebm.training.data import read_split


def statistics(mel: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Distance to the target and texture statistics of one standardised (D, T) mel."""
    return {
        "mse": float(((mel - target) ** 2).mean()),
        "roughness": float(((mel[:, 1:] - mel[:, :-1]) ** 2).mean()),
        "gv": float(mel.var(dim=1).mean()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--dump", required=True, help="feature dump (DUMP/val.tsv, DUMP/mels)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 1, 2, 4, 10])
    parser.add_argument("--temperature", type=float, default=None,
                        help="start temperature (default: the checkpoint's sampler option)")
    parser.add_argument("--step-size", default=None,
                        help='step size, a float or "1/K" (default: the checkpoint\'s)')
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    bundle = load_for_inference(args.checkpoint, "cpu")
    mean, std = bundle.mel_mean.view(-1, 1), bundle.mel_std.view(-1, 1)
    options = dict(bundle.config.sampler.options)
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.step_size is not None:
        options["step_size"] = args.step_size if args.step_size == "1/K" else float(args.step_size)
    generator = torch.Generator().manual_seed(args.seed)
    rows: dict[str, list[dict[str, float]]] = {"data": [], "mu": []}
    for utt in read_split(args.dump, args.split):
        target = (torch.from_numpy(np.load(f"{args.dump}/mels/{utt.id}.npy")) - mean) / std
        tokens = torch.tensor([bundle.symbols.encode(utt.phonemes)])
        with torch.no_grad():
            prior = bundle.model.align(tokens, torch.tensor([tokens.shape[1]]), target[None],
                                       torch.tensor([target.shape[-1]]))
            mu, mask = prior.mu, prior.mask
        rows["data"].append(statistics(target, target))
        rows["mu"].append(statistics(mu[0], target))
        for k in args.steps:
            sampler = samplers.build(bundle.config.sampler.name, **{**options, "steps": k})
            x, _ = sampler.sample(bundle.model.energy, mu, mask, generator=generator)
            rows.setdefault(f"K={k}", []).append(statistics(x[0].detach(), target))

    print(f"{len(rows['data'])} {args.split} utterances, sampler {bundle.config.sampler.name} "
          f"at temperature {options.get('temperature')}, step size {options.get('step_size')}, "
          "standardised mels, MAS durations\n")
    print("| mel | MSE to target | roughness | GV |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        means = {key: np.mean([v[key] for v in values]) for key in values[0]}
        print(f"| {name} | {means['mse']:.3f} | {means['roughness']:.3f} | {means['gv']:.3f} |")


if __name__ == "__main__":
    main()
