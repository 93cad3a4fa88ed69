"""First-order samplers on a field: shared stepping, stopping and candidate reranking.

A sampler runs x_{k+1} = x_k - eta_k * clip(g(x_k, t_k)) + sqrt(2 eta_k) * lambda_k * eps on the
valid frames only, g being the field (`tts_ebm.fields`: grad E for an energy, v for a velocity;
a plain energy function is taken as its energy field). The path time starts at t_0 = 1 and
falls by each step size, t_{k+1} = max(0, t_k - eta_k): with eta = 1/K the K steps are an Euler
integration from the start sample (t = 1) to the data (t = 0). Each step evaluates the field at
a *detached* x, so no autograd graph links steps and memory does not grow with K. Subclasses
only say how much noise each step adds (or fix the time grid).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from tts_ebm import fields
from tts_ebm.errors import UserInputError

EnergyFn = Callable[[Tensor, Tensor, Tensor], Tensor]


@dataclass
class Trace:
    """What happened during sampling, per utterance.

    energies: (steps_taken + 1, B) energy before each step and after the last one (NaN for a
        field without an energy). The last row costs one more forward pass, which synthesis
        does not need: it is evaluated on first access (`final_energy`), by reranking or logs;
    grad_norms: (steps_taken, B) RMS of grad E per valid element at each step taken;
    steps_taken: loop iterations run (< steps when every utterance met ``tol``);
    states: (steps_taken + 1, B, D, T) x at each row of `energies` (the start, then x after
        each step), kept only by a sampler with ``keep_steps`` (the page shows them), else None.
    """

    step_energies: Tensor
    grad_norms: Tensor
    steps_taken: int
    final_energy: Callable[[], Tensor] = dataclasses.field(repr=False, compare=False)
    states: Tensor | None = dataclasses.field(default=None, repr=False, compare=False)

    @functools.cached_property
    def energies(self) -> Tensor:
        return torch.cat([self.step_energies, self.final_energy()[None]])


def n_valid_elements(mask: Tensor, dim: int) -> Tensor:
    """(B,) number of valid (frame, bin) elements; at least 1 to keep divisions finite."""
    return (mask.sum(dim=(1, 2)) * dim).clamp_min(1.0)


@dataclass
class Sampler:
    """Gradient descent with optional per-step noise; see the module docstring.

    steps: K; step_size: a float or "1/K"; step_size_end: if set, eta decays linearly from
    step_size to it over the K steps; temperature: tau of x0 = mu + tau*eps in `sample`;
    n_candidates: starts drawn per utterance in `sample` (lowest energy per frame kept);
    grad_clip: max L2 norm of grad E per utterance; tol: an utterance stops moving once the RMS
    of its gradient per valid element falls below tol; keep_steps: keep x after every step in
    `Trace.states` (K + 1 copies of the batch: for showing the steps, not for training).
    """

    steps: int = 10
    step_size: float | str = "1/K"
    step_size_end: float | None = None
    temperature: float = 1.0
    n_candidates: int = 1
    grad_clip: float | None = None
    tol: float | None = None
    keep_steps: bool = False

    def __post_init__(self) -> None:
        if int(self.steps) != self.steps or self.steps < 0:
            raise UserInputError(
                f"sampler steps must be a non-negative integer, got {self.steps!r}"
            )
        if isinstance(self.step_size, str) and self.step_size != "1/K":
            raise UserInputError(
                f"sampler step_size must be a number or '1/K', got {self.step_size!r}"
            )
        if self.n_candidates < 1:
            raise UserInputError(f"sampler n_candidates must be >= 1, got {self.n_candidates}")
        if self.temperature < 0:
            raise UserInputError(f"sampler temperature must be >= 0, got {self.temperature}")

    def step_sizes(self) -> list[float]:
        """eta_k for k = 0..K-1."""
        k = max(self.steps, 1)
        start = 1.0 / k if self.step_size == "1/K" else float(self.step_size)
        if self.step_size_end is None or self.steps < 2:
            return [start] * self.steps
        return [
            start + (self.step_size_end - start) * i / (self.steps - 1) for i in range(self.steps)
        ]

    def noise_scales(self) -> list[float]:
        """lambda_k for k = 0..K-1; zero for plain gradient descent."""
        return [0.0] * self.steps

    def times(self) -> list[float]:
        """t_k for k = 0..K-1: 1 minus the step sizes taken so far, floored at 0."""
        times, t = [], 1.0
        for eta in self.step_sizes():
            times.append(max(t, 0.0))
            t -= eta
        return times

    def __call__(
        self,
        field: fields.Field | EnergyFn,
        x0: Tensor,
        mu: Tensor,
        mask: Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Trace]:
        """Run K steps from x0; padded frames keep their x0 values."""
        field = fields.as_field(field)
        mu, mask = mu.detach(), mask.detach()
        x = x0.detach().clone()
        counts = n_valid_elements(mask, x.shape[1])
        active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        energies, grad_norms, states = [], [], []
        for eta, lam, t in zip(self.step_sizes(), self.noise_scales(), self.times()):
            value = field.evaluate(x, mu, mask, x.new_full((x.shape[0],), t))
            energy, grad = value.energy, value.vector
            rms = grad.flatten(1).norm(dim=1) / counts.sqrt()
            if self.tol is not None:
                active &= rms >= self.tol
                if not active.any():
                    break
            energies.append(energy)
            grad_norms.append(rms)
            if self.keep_steps:  # K + 1 batch copies only when asked: never in training
                states.append(x)
            if self.grad_clip is not None:
                norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
                grad = grad * (self.grad_clip / norm).clamp(max=1.0).view(-1, 1, 1)
            update = -eta * grad
            if lam > 0:
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                update = update + (2.0 * eta) ** 0.5 * lam * noise * mask
            x = x + update * active.view(-1, 1, 1).to(x.dtype)
        empty = x.new_zeros(0, x.shape[0])
        trace = Trace(
            step_energies=torch.stack(energies) if energies else empty,
            grad_norms=torch.stack(grad_norms) if grad_norms else empty,
            steps_taken=len(grad_norms),
            final_energy=functools.partial(_energy_or_nan, field, x, mu, mask),
            states=torch.stack([*states, x]).detach() if self.keep_steps else None,
        )
        return x, trace

    def sample(
        self,
        field: fields.Field | EnergyFn,
        mu: Tensor,
        mask: Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Trace]:
        """Draw n_candidates starts mu + tau*eps in one batch, keep the lowest energy per frame."""
        field = fields.as_field(field)
        mu, mask = mu.detach(), mask.detach()
        n, batch = self.n_candidates, mu.shape[0]
        if n > 1 and not field.has_energy:
            raise UserInputError("n_candidates > 1 reranks candidates by energy; this model's "
                                 "field has no energy (use n_candidates 1)")
        mu_n, mask_n = mu.repeat(n, 1, 1), mask.repeat(n, 1, 1)
        eps = torch.randn(mu_n.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        x, trace = self(field, mu_n + self.temperature * eps * mask_n, mu_n, mask_n, generator)
        if n == 1:
            return x, trace
        frames = mask.sum(dim=(1, 2)).clamp_min(1.0)
        per_frame = trace.energies[-1].view(n, batch) / frames
        best = per_frame.argmin(dim=0)
        pick = best * batch + torch.arange(batch, device=mu.device)
        final = trace.energies[-1][pick]
        return x[pick], Trace(
            step_energies=trace.step_energies[:, pick], grad_norms=trace.grad_norms[:, pick],
            steps_taken=trace.steps_taken, final_energy=lambda: final,
            states=None if trace.states is None else trace.states[:, pick],
        )


def _energy_or_nan(field: fields.Field, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
    """E(x) (B,) without a graph; NaN for a field without an energy."""
    if not field.has_energy:
        return x.new_full((x.shape[0],), float("nan"))
    with torch.no_grad():
        return field(x, mu, mask).detach()
