"""OT conditional flow matching (Lipman et al. 2023; Matcha-TTS's decoder objective) on a field.

Time runs as on the delta criterion's path (t = 1: start sample, t = 0: data), so that fm and
delta are the same regression when sigma_min = 0 and differ only in what the field is:
    x_t = (1 - t) x + t mu + (sigma_min + (1 - sigma_min) t) tau eps,
    u   = dx_t/dt = (z - x) - sigma_min tau eps,       z = mu + tau eps,
    loss = masked mean of (g(x_t, mu, t) - u)^2.
This is the OT path between the prior N(mu, tau^2 I) at t = 1 and N(x, (sigma_min tau)^2 I) at
t = 0: means and standard deviations interpolate linearly. Matcha writes it with time reversed
(t' = 1 - t, noise at t' = 0) and a prior N(0, I); mu enters its decoder only as conditioning.
The field sees t; an energy field ignores it. The matching sampler is `euler`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor

from tts_ebm.criteria.base import (
    Criterion,
    EnergyFn,
    Logs,
    field_vector,
    masked_mean,
    randn_like_masked,
    sample_times,
)
from tts_ebm.errors import UserInputError
from tts_ebm.fields import Field

TIME_SAMPLINGS = ("uniform", "logit_normal")


@dataclass
class FM(Criterion):
    """temperature: tau of the prior N(mu, tau^2 I) (= the sampler's temperature); sigma_min:
    data-end noise as a fraction of tau (Matcha: 1e-4); time_sampling: uniform | logit_normal
    (sigmoid of N(logit_mean, logit_std))."""

    needs_energy: ClassVar[bool] = False
    temperature: float = 1.0
    sigma_min: float = 1e-4
    time_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0

    def __post_init__(self) -> None:
        if self.time_sampling not in TIME_SAMPLINGS:
            raise UserInputError(
                f"fm time_sampling must be one of {TIME_SAMPLINGS}, got {self.time_sampling!r}"
            )
        if not 0 <= self.sigma_min < 1:
            raise UserInputError(f"fm sigma_min must be in [0, 1), got {self.sigma_min}")
        if self.temperature <= 0:
            raise UserInputError(f"fm temperature must be > 0, got {self.temperature}")

    def sample_t(self, batch: int, like: Tensor) -> Tensor:
        """(B, 1, 1) path times."""
        return sample_times(batch, like, self.time_sampling, self.logit_mean, self.logit_std)

    def loss_at(
        self, field: Field | EnergyFn, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor,
        eps: Tensor,
    ) -> Tensor:
        """The loss for given path times t (B, 1, 1) and standard noise eps (B, D, T)."""
        # path and target are constants of the loss, as in delta: mu reaches the field (and,
        # with criterion_grad_to_encoder, the encoder) only through the conditioning input
        prior_mean, noise = mu.detach(), self.temperature * eps * mask
        x_t = (1 - t) * x + t * prior_mean + (self.sigma_min + (1 - self.sigma_min) * t) * noise
        target = prior_mean - x + (1 - self.sigma_min) * noise
        vector = field_vector(field, x_t.detach(), mu, mask, t)
        return masked_mean((vector - target.detach()) ** 2, mask)

    def __call__(
        self,
        field: Field | EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        t = self.sample_t(x.shape[0], x)
        loss = self.loss_at(field, x, mu, mask, t, randn_like_masked(x, mask))
        return loss, {"fm": loss.detach()}
