"""Shared pieces of the training criteria.

Conventions: energies are sums over valid frames; g(x) = grad_x E(x, mu) is taken with
create_graph=True so a loss built from g backpropagates into the energy's parameters (and into
mu through the energy's conditioning input). Inputs to the energy are detached leaves: data,
noise and start samples are constants of the loss. Losses are masked means over valid
(frame, bin) elements so that they do not depend on utterance length or padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from tts_ebm import fields

EnergyFn = Callable[[Tensor, Tensor, Tensor], Tensor]
Logs = dict[str, Tensor]


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of (B, D, T) values over valid frames and all bins; mask is (B, 1, T)."""
    denom = (mask.sum() * values.shape[1]).clamp_min(1.0)
    return (values * mask).sum() / denom


def energy_grad(
    energy_fn: EnergyFn, x: Tensor, mu: Tensor, mask: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """(leaf, E(leaf), g(leaf)) with g differentiable w.r.t. the energy's parameters and leaf."""
    leaf = x.detach().requires_grad_(True)
    energy = energy_fn(leaf, mu, mask)
    (grad,) = torch.autograd.grad(energy.sum(), leaf, create_graph=True)
    return leaf, energy, grad * mask


def field_vector(
    field: fields.Field | EnergyFn, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor
) -> Tensor:
    """g(x, mu, t) of a field (or a plain energy function), differentiable w.r.t. the
    parameters; t (B, 1, 1) path times (ignored by time-free fields)."""
    return fields.as_field(field).evaluate(x, mu, mask, t.reshape(-1), differentiable=True).vector


def sample_times(
    batch: int, like: Tensor, sampling: str = "uniform", logit_mean: float = 0.0,
    logit_std: float = 1.0,
) -> Tensor:
    """(B, 1, 1) path times: uniform on (0, 1), or logit_normal (sigmoid of N(mean, std))."""
    if sampling == "uniform":
        t = torch.rand(batch, device=like.device, dtype=like.dtype)
    else:
        t = torch.sigmoid(
            logit_mean + logit_std * torch.randn(batch, device=like.device, dtype=like.dtype)
        )
    return t.view(-1, 1, 1)


def geometric_ladder(low: float, high: float, n: int) -> list[float]:
    """n values from high down to low, evenly spaced in log."""
    if n == 1:
        return [float(high)]
    lo, hi = math.log(low), math.log(high)
    return [math.exp(hi + (lo - hi) * i / (n - 1)) for i in range(n)]


def randn_like_masked(x: Tensor, mask: Tensor) -> Tensor:
    """Standard normal noise on valid frames, zero on padded ones."""
    return torch.randn_like(x) * mask


@dataclass
class Criterion:
    """A training loss on a field; subclasses are dataclasses whose fields are the options.

    The first argument is a `tts_ebm.fields.Field` or a plain energy function. Criteria with
    `needs_energy` use it as the energy function (dsm, ssm, nce); the others only use its
    vector g(x, mu, t) and so also train velocity fields (delta, fm).
    """

    needs_energy: ClassVar[bool] = True

    def __call__(
        self,
        energy_fn: EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        raise NotImplementedError
