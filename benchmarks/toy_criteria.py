"""Toy benchmark of the training criteria on densities with known scores.

Every criterion trains the same small SiLU MLP energy with the same budget, through the project's
own `tts_ebm.criteria` and `tts_ebm.samplers`. Two tasks (D = 2, T = 1):
  ring8   unconditional (mu = 0): 8 Gaussians on a circle, starts z ~ N(0, tau^2 I), tau = 2;
  cond4x2 conditional: mu is one of 4 centres, x = mu + one of 2 offsets + noise, z = mu + eps.
Reported per criterion: relative MSE of -grad E against the analytic grad log p on noisy data
points, and, after K gradient-descent steps from z, the sliced W2 to fresh data (mean over
conditions) and the number of modes holding at least a quarter of their fair share of samples
within 3 std. Step size: 1/K for delta (its inference rule); for the others the best of a small
grid, chosen on a validation draw and reported on a separate draw.

    python benchmarks/toy_criteria.py            # full run, a few minutes on 2 CPU cores
    python benchmarks/toy_criteria.py --quick    # smoke run, seconds
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from tts_ebm import criteria, samplers

STEP_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)


@dataclass
class Task:
    """A conditional mixture of isotropic Gaussians: x | mu ~ sum_m N(mu + offsets_m, std^2 I)/M."""

    name: str
    centres: Tensor  # (C, D) possible conditions mu
    offsets: Tensor  # (M, D) mode offsets from mu
    std: float
    tau: float

    def sample_mu(self, n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
        """(n,) condition ids and (n, D) conditions."""
        ids = torch.randint(len(self.centres), (n,), generator=g)
        return ids, self.centres[ids]

    def sample_x(self, mu: Tensor, g: torch.Generator) -> Tensor:
        comp = torch.randint(len(self.offsets), (mu.shape[0],), generator=g)
        return mu + self.offsets[comp] + self.std * torch.randn(mu.shape, generator=g)

    def score(self, x: Tensor, mu: Tensor) -> Tensor:
        """Analytic grad_x log p(x | mu)."""
        diff = mu[:, None] + self.offsets[None] - x[:, None]  # (n, M, D)
        w = torch.softmax(-(diff**2).sum(-1) / (2 * self.std**2), dim=1)
        return (w[..., None] * diff).sum(1) / self.std**2


def ring8() -> Task:
    angles = torch.arange(8) * (2 * math.pi / 8)
    offsets = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return Task("ring8", torch.zeros(1, 2), offsets, std=0.1, tau=2.0)


def cond4x2() -> Task:
    centres = torch.tensor([[-2.5, -2.5], [-2.5, 2.5], [2.5, -2.5], [2.5, 2.5]])
    offsets = torch.tensor([[-0.6, 0.0], [0.6, 0.0]])
    return Task("cond4x2", centres, offsets, std=0.1, tau=1.0)


class MLPEnergy(nn.Module):
    """Per-frame scalar h(x_t, mu_t) summed over valid frames, as the interface asks."""

    def __init__(self, dim: int, hidden: int = 128) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * dim, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 1),
        )  # fmt: skip

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        h = self.net(torch.cat([x, mu], dim=1).transpose(1, 2)).squeeze(-1)
        return (h * mask[:, 0]).sum(dim=1)


def sliced_w2(a: Tensor, b: Tensor, n_proj: int = 256, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance between equal-size point sets (n, D)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(a.shape[1], n_proj, generator=g)
    u = u / u.norm(dim=0, keepdim=True)
    pa, pb = (a @ u).sort(dim=0).values, (b @ u).sort(dim=0).values
    return ((pa - pb) ** 2).mean().sqrt().item()


def evaluate_samples(task: Task, ids: Tensor, x: Tensor, ref: Tensor) -> tuple[float, int]:
    """(mean sliced W2 over conditions, modes covered); x and ref (n, D) share condition ids."""
    w2s, covered = [], 0
    n_modes = len(task.offsets)
    for c in range(len(task.centres)):
        sel = ids == c
        xs = x[sel]
        w2s.append(sliced_w2(xs, ref[sel]))
        dist = (xs[:, None] - task.centres[c] - task.offsets[None]).norm(dim=-1)  # (n_c, M)
        near = dist < 3 * task.std
        covered += int((near.float().mean(0) >= 1 / (4 * n_modes)).sum())
    return sum(w2s) / len(w2s), covered


def as_frames(v: Tensor) -> Tensor:
    return v.unsqueeze(-1)  # (n, D) -> (n, D, T=1)


def train(
    task: Task, name: str, options: dict[str, Any], steps: int, batch: int, seed: int
) -> MLPEnergy:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    energy = MLPEnergy(task.centres.shape[1])
    crit = criteria.build(name, **options)
    opt = torch.optim.Adam(energy.parameters(), lr=1e-3)
    mask = torch.ones(batch, 1, 1)
    for _ in range(steps):
        _, mu = task.sample_mu(batch, g)
        x = task.sample_x(mu, g)
        loss, _ = crit(energy, as_frames(x), as_frames(mu), mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return energy


def score_error(task: Task, energy: MLPEnergy, n: int, g: torch.Generator) -> float:
    """Relative MSE of -grad E vs the analytic score at data points perturbed by one std."""
    _, mu = task.sample_mu(n, g)
    x = task.sample_x(mu, g) + task.std * torch.randn(mu.shape, generator=g)
    x = x.requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(as_frames(x), as_frames(mu), torch.ones(n, 1, 1)).sum(), x)
    target = task.score(x.detach(), mu)
    return (((-grad - target) ** 2).sum(1).mean() / (target**2).sum(1).mean()).item()


def draw(task: Task, energy: MLPEnergy, k: int, step: float | str, n: int, seed: int):
    """Samples after k GD steps and matching fresh data, both with the same conditions."""
    g = torch.Generator().manual_seed(seed)
    ids, mu = task.sample_mu(n, g)
    ref = task.sample_x(mu, g)
    sampler = samplers.build("gd", steps=k, step_size=step, temperature=task.tau)
    x, _ = sampler.sample(energy, as_frames(mu), torch.ones(n, 1, 1), generator=g)
    return ids, x.squeeze(-1), ref


def sample_quality(
    task: Task, energy: MLPEnergy, k: int, grid: tuple, n: int
) -> tuple[float, int, Any]:
    """(W2, modes, step) on a test draw, step chosen by W2 on a validation draw."""
    if len(grid) > 1:
        val = {s: evaluate_samples(task, *draw(task, energy, k, s, n, seed=1))[0] for s in grid}
        step = min(grid, key=lambda s: val[s] if math.isfinite(val[s]) else math.inf)
    else:
        step = grid[0]
    w2, modes = evaluate_samples(task, *draw(task, energy, k, step, n, seed=2))
    return w2, modes, step


def data_floor(task: Task, n: int) -> float:
    """W2 between two independent data draws: the best any sampler can score at this n."""
    g = torch.Generator().manual_seed(2)
    ids, mu = task.sample_mu(n, g)
    return evaluate_samples(task, ids, task.sample_x(mu, g), task.sample_x(mu, g))[0]


def configs(task: Task) -> dict[str, tuple[str, dict[str, Any], tuple]]:
    """label -> (criterion, options, sampler step grid)."""
    return {
        "delta": ("delta", {"temperature": task.tau}, ("1/K",)),
        "dsm": ("dsm", {"sigma_min": 0.05, "sigma_max": 2.0, "n_sigmas": 10}, STEP_GRID),
        "ssm-vr": ("ssm", {"variant": "vr", "projection": "rademacher"}, STEP_GRID),
        "nce-gauss": (
            "nce",
            {"sources": {"gaussian": 4}, "sigma_min": 0.05, "sigma_max": 2.0},
            STEP_GRID,
        ),
    }


def fmt_step(step: float | str) -> str:
    return step if isinstance(step, str) else f"{step:g}"


def run(quick: bool) -> str:
    steps, batch, n_eval = (100, 128, 400) if quick else (3000, 256, 2000)
    ks = (1, 4) if quick else (1, 4, 10, 50, 200)
    lines = []
    for task in (ring8(), cond4x2()):
        modes = len(task.centres) * len(task.offsets)
        lines += [
            (
                f"\n### {task.name} (tau={task.tau:g}, {modes} modes, std {task.std:g}; "
                f"{steps} Adam steps x batch {batch}; cells: sliced W2, modes, step size)\n"
            ),
            "| criterion | score rel. MSE | train s | " + " | ".join(f"K={k}" for k in ks) + " |",
            "|---|---|---|" + "---|" * len(ks),
        ]
        for label, (name, options, grid) in configs(task).items():
            start = time.perf_counter()
            energy = train(task, name, options, steps, batch, seed=0)
            seconds = time.perf_counter() - start
            err = score_error(task, energy, n_eval, torch.Generator().manual_seed(4))
            cells = []
            for k in ks:
                w2, covered, step = sample_quality(task, energy, k, grid, n_eval)
                cells.append(f"{w2:.3f}, {covered}/{modes}, {fmt_step(step)}")
            lines.append(f"| {label} | {err:.3f} | {seconds:.0f} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        lines.append(
            "| (fresh data) | 0 | - | "
            + " | ".join([f"{data_floor(task, n_eval):.3f}, -, -"] * len(ks))
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny budget smoke run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small MLPs: threads cost more than they give on a shared CPU
    start = time.perf_counter()
    table = run(args.quick)
    print(table)
    print(f"\nwall time {time.perf_counter() - start:.0f} s")
    return table


if __name__ == "__main__":
    main()
