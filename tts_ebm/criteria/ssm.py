"""Sliced score matching (Song et al. 2019) on s = -grad_x E.

Per projection v: v^T (grad_x s) v + 1/2 (v^T s)^2  ("plain"), or with the second term replaced
by 1/2 ||s||^2 ("vr", variance reduced). v^T (grad_x s) v = -v^T H_E v comes from a
Hessian-vector product by double backprop. v is zero on padded frames. Sums over elements are
divided by the number of valid elements, so for E[v v^T] = I the loss is the per-element
Hyvarinen objective tr(grad s)/n + ||s||^2/(2n).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tts_ebm.criteria.base import Criterion, EnergyFn, Logs, energy_grad, randn_like_masked
from tts_ebm.errors import UserInputError

VARIANTS = ("plain", "vr")
PROJECTIONS = ("gaussian", "rademacher")


@dataclass
class SSM(Criterion):
    """variant: plain | vr; projection: gaussian | rademacher; n_projections >= 1;
    sigma: std of Gaussian noise added to the data first (0 = none)."""

    variant: str = "vr"
    projection: str = "rademacher"
    n_projections: int = 1
    sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise UserInputError(f"ssm variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.projection not in PROJECTIONS:
            raise UserInputError(
                f"ssm projection must be one of {PROJECTIONS}, got {self.projection!r}"
            )
        if self.n_projections < 1:
            raise UserInputError(f"ssm n_projections must be >= 1, got {self.n_projections}")
        if self.sigma < 0:
            raise UserInputError(f"ssm sigma must be >= 0, got {self.sigma}")

    def project(self, x: Tensor, mask: Tensor) -> Tensor:
        """(P, B, D, T) projection vectors with E[v v^T] = I on valid elements."""
        shape = (self.n_projections, *x.shape)
        if self.projection == "gaussian":
            v = torch.randn(shape, device=x.device, dtype=x.dtype)
        else:
            v = torch.randint(0, 2, shape, device=x.device).to(x.dtype) * 2 - 1
        return v * mask

    def __call__(
        self,
        energy_fn: EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        if self.sigma > 0:
            x = x + self.sigma * randn_like_masked(x, mask)
        leaf, _, grad = energy_grad(energy_fn, x, mu, mask)
        n = (mask.sum() * x.shape[1]).clamp_min(1.0)
        trace_terms, norm_terms = [], []
        for v in self.project(x, mask):
            (hv,) = torch.autograd.grad((grad * v).sum(), leaf, create_graph=True)
            trace_terms.append(-(hv * v).sum())
            if self.variant == "plain":
                norm_terms.append(0.5 * ((grad * v).flatten(1).sum(1) ** 2).sum())
        trace = torch.stack(trace_terms).mean() / n
        if self.variant == "vr":
            norm = 0.5 * (grad**2).sum() / n
        else:
            norm = torch.stack(norm_terms).mean() / n
        loss = trace + norm
        return loss, {"ssm": loss.detach(), "ssm_trace": trace.detach(), "ssm_norm": norm.detach()}
