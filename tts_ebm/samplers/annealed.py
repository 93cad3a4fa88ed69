"""Annealed Langevin: the noise scale decays geometrically over the steps.

The energy is not noise-conditional, so the ladder anneals the injected noise only: early steps
explore between modes, late steps settle.
"""

from __future__ import annotations

from dataclasses import dataclass

from tts_ebm.errors import UserInputError
from tts_ebm.samplers.base import Sampler


@dataclass
class AnnealedLangevin(Sampler):
    """lambda_k decays geometrically from noise_max to noise_min (linearly to 0 if noise_min = 0)."""

    noise_max: float = 1.0
    noise_min: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.noise_min <= self.noise_max:
            raise UserInputError(
                f"annealed sampler needs 0 <= noise_min <= noise_max, got {self.noise_min}, {self.noise_max}"
            )

    def noise_scales(self) -> list[float]:
        if self.steps < 2:
            return [float(self.noise_max)] * self.steps
        if self.noise_min == 0:
            return [self.noise_max * (1 - i / (self.steps - 1)) for i in range(self.steps)]
        ratio = (self.noise_min / self.noise_max) ** (1 / (self.steps - 1))
        return [self.noise_max * ratio**i for i in range(self.steps)]
