"""Euler integration of the field from the start sample (t = 1) to the data (t = 0).

x_{k+1} = x_k - (1/K) g(x_k, mu, t_k) with t_k = 1 - k/K: the sampler of flow matching
(Matcha-TTS integrates the same ODE with time reversed, noise at t' = 0). On a time-free energy
field it is gradient descent with step size 1/K; the time grid is what the velocity field needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from tts_ebm.errors import UserInputError
from tts_ebm.samplers.base import Sampler


@dataclass
class Euler(Sampler):
    """K uniform steps over t in [0, 1]; the step sizes follow from the grid (step_size 1/K)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step_size != "1/K" or self.step_size_end is not None:
            raise UserInputError(
                "the euler sampler's step sizes are its time grid (1/K each): leave step_size "
                "and step_size_end unset, or use the gd sampler for other step sizes"
            )

    def times(self) -> list[float]:
        return [1.0 - k / self.steps for k in range(self.steps)]
