"""What samplers and criteria see of an acoustic model: a vector field over mels.

A field gives g(x, mu, mask, t) (B, D, T). Samplers step along it, x <- x - eta * g, from a
start sample at t = 1 towards the data at t = 0 (the delta criterion's path
x_t = (1 - t) x + t z); criteria train it. Two kinds:
- energy fields: g = grad_x E(x, mu), time-free (t is ignored); they also have the scalar
  energy E that traces, candidate reranking and the energy criteria (dsm, ssm, nce) need;
- velocity fields: g = v(x, mu, t), a network output with a time input and no energy.
Calling a field, `field(x, mu, mask)`, is its energy function, so code written for energy
functions takes an energy field unchanged; a field without an energy raises there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn


@dataclass
class FieldValue:
    """g (B, D, T), zero on padded frames; E (B,), NaN when the field has no energy."""

    vector: Tensor
    energy: Tensor


class Field(nn.Module):
    """Base of every field; subclasses set `has_energy` and implement `evaluate`."""

    has_energy: ClassVar[bool] = False

    def evaluate(
        self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None, *,
        differentiable: bool = False,
    ) -> FieldValue:
        """g and E at x; t (B,) in [0, 1] (time-free fields ignore it). differentiable=True
        keeps the graph to the parameters (training); False returns detached values."""
        raise NotImplementedError

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """The energy E(x, mu, mask) (B,)."""
        raise NotImplementedError
