"""Plain gradient descent on the energy: the default, deterministic given x0."""

from __future__ import annotations

from dataclasses import dataclass

from tts_ebm.samplers.base import Sampler


@dataclass
class GradientDescent(Sampler):
    """x_{k+1} = x_k - eta_k grad E(x_k); all options are those of `Sampler`."""
