"""The delta criterion: our documented reading of Sun & Ragni (2025), linked to flow matching.

Path x_t = (1 - t) x + t z with z = mu + tau*eps (detached: a start sample, as at inference).
The energy's gradient is trained as the velocity that carries z back to x:
    loss = masked mean of (g(x_t) - c(t) (z - x))^2,
so that K gradient steps of size 1/K from x_0 = z are a K-step Euler integration of the field.
Only the field's vector g is used, so delta also trains a velocity field (g = v(x_t, mu, t)).
c(t) = 1, or with target_scale "eqm" c(t) = min(1, t/t0): data points become stationary and
extra steps do not overshoot (cf. Equilibrium Matching).
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
TARGET_SCALES = ("none", "eqm")


@dataclass
class Delta(Criterion):
    """temperature: tau of z; time_sampling: uniform | logit_normal (sigmoid of
    N(logit_mean, logit_std)); target_scale: none | eqm with ramp length t0."""

    needs_energy: ClassVar[bool] = False
    temperature: float = 1.0
    time_sampling: str = "uniform"
    logit_mean: float = 0.0
    logit_std: float = 1.0
    target_scale: str = "none"
    t0: float = 0.2

    def __post_init__(self) -> None:
        if self.time_sampling not in TIME_SAMPLINGS:
            raise UserInputError(
                f"delta time_sampling must be one of {TIME_SAMPLINGS}, got {self.time_sampling!r}"
            )
        if self.target_scale not in TARGET_SCALES:
            raise UserInputError(
                f"delta target_scale must be one of {TARGET_SCALES}, got {self.target_scale!r}"
            )
        if self.t0 <= 0:
            raise UserInputError(f"delta t0 must be > 0, got {self.t0}")

    def sample_t(self, batch: int, like: Tensor) -> Tensor:
        """(B, 1, 1) path times."""
        return sample_times(batch, like, self.time_sampling, self.logit_mean, self.logit_std)

    def __call__(
        self,
        field: Field | EnergyFn,
        x: Tensor,
        mu: Tensor,
        mask: Tensor,
        negatives: Tensor | None = None,
    ) -> tuple[Tensor, Logs]:
        t = self.sample_t(x.shape[0], x)
        z = (mu + self.temperature * randn_like_masked(x, mask)).detach()
        target = z - x
        if self.target_scale == "eqm":
            target = target * (t / self.t0).clamp(max=1.0)
        grad = field_vector(field, (1 - t) * x + t * z, mu, mask, t)
        loss = masked_mean((grad - target) ** 2, mask)
        return loss, {"delta": loss.detach()}
