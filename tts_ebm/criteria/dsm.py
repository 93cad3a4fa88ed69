"""Denoising score matching over a sigma ladder (Vincent 2011; Song & Ermon 2019 weighting).

Sign convention: the model score is s = -grad_x E. For x~ = x + sigma*eps the Gaussian-smoothed
target is grad log q(x~|x) = -(x~ - x)/sigma^2, hence grad_x E(x~) should equal eps/sigma.
Loss: masked mean of sigma^2 * (g(x~) - eps/sigma)^2 = (sigma*g(x~) - eps)^2, one sigma per
utterance drawn uniformly from the ladder. The energy is not told sigma (time-free DSM).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tts_ebm.criteria.base import (
    Criterion,
    EnergyFn,
    Logs,
    energy_grad,
    geometric_ladder,
    masked_mean,
    randn_like_masked,
)
from tts_ebm.errors import UserInputError


@dataclass
class DSM(Criterion):
    """sigma: a single noise level (overrides the ladder); else n_sigmas levels geometric in
    [sigma_min, sigma_max]."""

    sigma_min: float = 0.01
    sigma_max: float = 1.0
    n_sigmas: int = 10
    sigma: float | None = None

    def __post_init__(self) -> None:
        if self.sigma is not None and self.sigma <= 0:
            raise UserInputError(f"dsm sigma must be > 0, got {self.sigma}")
        if self.sigma is None and not (0 < self.sigma_min <= self.sigma_max and self.n_sigmas >= 1):
            raise UserInputError(
                "dsm needs 0 < sigma_min <= sigma_max and n_sigmas >= 1, got "
                f"{self.sigma_min}, {self.sigma_max}, {self.n_sigmas}"
            )

    def sigmas(self) -> list[float]:
        """The noise ladder, largest first."""
        if self.sigma is not None:
            return [float(self.sigma)]
        return geometric_ladder(self.sigma_min, self.sigma_max, self.n_sigmas)

    def __call__(
        self,
        energy_fn: EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        ladder = torch.tensor(self.sigmas(), dtype=x.dtype, device=x.device)
        sigma = ladder[torch.randint(len(ladder), (x.shape[0],), device=x.device)].view(-1, 1, 1)
        eps = randn_like_masked(x, mask)
        _, _, grad = energy_grad(energy_fn, x + sigma * eps, mu, mask)
        loss = masked_mean((sigma * grad - eps) ** 2, mask)
        return loss, {"dsm": loss.detach()}
