"""Denoising score matching over a sigma ladder (Vincent 2011; Song & Ermon 2019 weighting).

Sign convention: the model score is s = -grad_x E. For x~ = x + sigma*eps the Gaussian-smoothed
target is grad log q(x~|x) = -(x~ - x)/sigma^2, hence grad_x E(x~) should equal eps/sigma.
Loss: masked mean of sigma^2 * (g(x~) - eps/sigma)^2 = (sigma*g(x~) - eps)^2, one sigma per
utterance drawn uniformly from the ladder. The energy is not told sigma (time-free DSM).

noise_conditional: the energy is told the noise level, as the path time t = sigma / sigma_max
(a `timed_energy` field), and the score at sigma is read as s = -g / sigma^2 (the energy at
noise sigma is E(x, t) / sigma^2, as in Salimans & Ho 2021's energy of a denoiser). The loss
becomes (g(x~, t) / sigma - eps)^2: g predicts the noise sigma*eps, so x~ - g is the denoised
mel (Tweedie). sigma is drawn log-uniformly between the ladder's ends, so every level the
sampler visits is trained. At the quadratic head's start g = x~ - mu: the denoiser returns mu.
Its sampler is `ve_euler` (Euler steps of the probability-flow ODE) with temperature sigma_max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from tts_ebm.criteria.base import (
    Criterion,
    EnergyFn,
    Logs,
    energy_grad,
    field_vector,
    geometric_ladder,
    masked_mean,
    randn_like_masked,
)
from tts_ebm.errors import UserInputError
from tts_ebm.fields import Field


@dataclass
class DSM(Criterion):
    """sigma: a single noise level (overrides the ladder); else n_sigmas levels geometric in
    [sigma_min, sigma_max]; noise_conditional: tell the energy sigma (see the module docstring)."""

    sigma_min: float = 0.01
    sigma_max: float = 1.0
    n_sigmas: int = 10
    sigma: float | None = None
    noise_conditional: bool = False

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

    def draw_sigmas(self, batch: int, like: Tensor) -> Tensor:
        """(B, 1, 1) noise levels: from the ladder, or log-uniform between its ends."""
        ladder = self.sigmas()
        if self.noise_conditional:
            low, high = math.log(min(ladder)), math.log(max(ladder))
            u = torch.rand(batch, device=like.device, dtype=like.dtype)
            return torch.exp(low + (high - low) * u).view(-1, 1, 1)
        levels = torch.tensor(ladder, dtype=like.dtype, device=like.device)
        return levels[torch.randint(len(levels), (batch,), device=like.device)].view(-1, 1, 1)

    def __call__(
        self,
        energy_fn: Field | EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        sigma = self.draw_sigmas(x.shape[0], x)
        eps = randn_like_masked(x, mask)
        if self.noise_conditional:
            t = sigma / max(self.sigmas())
            grad = field_vector(energy_fn, x + sigma * eps, mu, mask, t)
            loss = masked_mean((grad / sigma - eps) ** 2, mask)
        else:
            _, _, grad = energy_grad(energy_fn, x + sigma * eps, mu, mask)
            loss = masked_mean((sigma * grad - eps) ** 2, mask)
        return loss, {"dsm": loss.detach()}
