"""Wall time of one inference step of the energy field (a forward and a backward pass w.r.t. x),
and of candidate ways to make it cheaper without changing its result beyond float tolerance.

    python benchmarks/inference_step.py [--size ljspeech] [--frames 500] [--repeats 20]

All variants run interleaved in one process (CPU, --threads threads, model in eval mode with
frozen weights as `load_for_inference` gives it, one utterance of --frames frames), each checked
against the baseline's gradient (max abs difference printed). Variants:
- `baseline`: `EnergyField.evaluate`, what every sampler step does today;
- `mu-once`: the conditioning path computed once per utterance: the mu half of the input 1x1
  conv (the only layer that sees mu alone; every later layer mixes x in);
- `sdpa`: attention through torch's fused scaled_dot_product_attention (first-order
  differentiable; the model's plain matmul-softmax is kept for double backward in training);
- `compile`: torch.compile of torch.func.grad_and_value of the energy (first call compiles and is
  not timed; its compile time is printed);
- `forward`: one forward pass alone, for scale;
- `gd K=k before` / `after`: a whole `gd` sampling run of k steps from mu + noise, reading the
  trace's final energy (as every run did before it became lazy: one more forward pass) or not
  (synthesis now).
Reported: median and minimum wall ms and median CPU ms per step over --repeats rounds.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from tts_ebm import samplers
from tts_ebm.fields import EnergyField
from tts_ebm.model.config import PRESETS, ModelConfig
from tts_ebm.networks.energy import EnergyNetwork
from tts_ebm.networks.layers import MaskedSelfAttention

CONFIGS = list(PRESETS)
Step = Callable[[Tensor], Tensor]


def mu_once_step(net: EnergyNetwork, mu: Tensor, mask: Tensor) -> Step:
    """Gradient with the mu half of the input conv (and its bias) computed once."""
    d = mu.shape[1]
    weight_x, weight_mu = net.inp.weight[:, :d], net.inp.weight[:, d:]
    mu_term = F.conv1d(mu * mask, weight_mu, net.inp.bias)

    def energy(x: Tensor) -> Tensor:
        h = (F.conv1d(x * mask, weight_x) + mu_term) * mask
        for block in net.blocks:
            h = block(h, mask)
        out = net.out(net.act(net.norm(h)) * mask) * mask
        f = mu * mask + out
        return 0.5 * (((x - f) * mask) ** 2).sum((1, 2))

    def step(x: Tensor) -> Tensor:
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(leaf).sum(), leaf)
        return grad * mask

    return step


def sdpa_forward(self: MaskedSelfAttention, x: Tensor, mask: Tensor) -> Tensor:
    """MaskedSelfAttention.forward through F.scaled_dot_product_attention (same maths)."""
    b, c, t = x.shape
    q, k, v = self.qkv(x).view(b, 3, self.heads, c // self.heads, t).unbind(1)
    keep = (mask.unsqueeze(1) != 0)  # (B, 1, 1, T) keys
    y = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                       v.transpose(-1, -2), attn_mask=keep)
    return self.out(y.transpose(-1, -2).reshape(b, c, t))


def timed(steps: dict[str, Step], x: Tensor, repeats: int) -> dict[str, dict[str, float]]:
    walls: dict[str, list[float]] = {name: [] for name in steps}
    cpus: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():  # interleaved: load changes hit every variant alike
            start, cpu = time.perf_counter(), time.process_time()
            step(x)
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
    return {name: {"median": 1e3 * statistics.median(walls[name]), "min": 1e3 * min(walls[name]),
                   "cpu": 1e3 * statistics.median(cpus[name])} for name in steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=CONFIGS, default="ljspeech")
    parser.add_argument("--frames", type=int, default=500, help="utterance length (5.8 s)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    parser.add_argument("--ks", type=int, nargs="*", default=[1, 4],
                        help="sampler steps of the whole-run rows (default: %(default)s)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = ModelConfig.preset(args.size)
    net = EnergyNetwork(config.frame_network(), config.energy_head)
    torch.nn.init.normal_(net.out.weight, std=0.02)  # a trained-like head: every layer counts
    net.eval().requires_grad_(False)
    field = EnergyField(net)
    x = torch.randn(1, config.n_mels, args.frames)
    mu = torch.randn(1, config.n_mels, args.frames)
    mask = torch.ones(1, 1, args.frames)

    def baseline(x: Tensor) -> Tensor:
        return field.evaluate(x, mu, mask).vector

    def sdpa(x: Tensor) -> Tensor:
        original = MaskedSelfAttention.forward
        MaskedSelfAttention.forward = sdpa_forward
        try:
            return baseline(x)
        finally:
            MaskedSelfAttention.forward = original

    def forward(x: Tensor) -> Tensor:
        with torch.no_grad():
            return net(x, mu, mask)

    steps: dict[str, Step] = {"baseline": baseline, "mu-once": mu_once_step(net, mu, mask),
                              "sdpa": sdpa}
    if not args.no_compile:
        grad_and_value = torch.func.grad_and_value(lambda x: net(x, mu, mask).sum())
        compiled = torch.compile(grad_and_value)
        start = time.perf_counter()
        compiled(x)
        print(f"torch.compile: first call (compilation) {time.perf_counter() - start:.1f} s")
        steps["compile"] = lambda x: compiled(x)[0] * mask
    reference = baseline(x)
    errors = {name: float((step(x) - reference).abs().max()) for name, step in steps.items()}
    steps["forward"] = forward
    for k in args.ks:
        sampler = samplers.build("gd", steps=k)
        steps[f"gd K={k} before"] = lambda x, s=sampler: s.sample(field, mu, mask)[1].energies
        steps[f"gd K={k} after"] = lambda x, s=sampler: s.sample(field, mu, mask)[0]
    results = timed(steps, x, args.repeats)
    print(f"\nenergy net {args.size} ({sum(p.numel() for p in net.parameters()) / 1e6:.2f} M), "
          f"one utterance of {args.frames} frames, CPU, {args.threads} threads, "
          f"{args.repeats} interleaved rounds; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; |grad| scale {float(reference.abs().max()):.3g}\n")
    print("| variant | wall ms median | wall ms min | × baseline (median) | CPU ms median "
          "| max abs diff of grad |")
    print("|---|---|---|---|---|---|")
    base = results["baseline"]["median"]
    for name, row in results.items():
        diff = errors.get(name)
        print(f"| {name} | {row['median']:.1f} | {row['min']:.1f} | {row['median'] / base:.2f} "
              f"| {row['cpu']:.1f} | {'–' if diff is None else f'{diff:.1e}'} |")
    return 0 if all(math.isfinite(e) for e in errors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
