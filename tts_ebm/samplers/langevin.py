"""Langevin dynamics: gradient descent plus sqrt(2 eta) * noise_scale * eps per step."""

from __future__ import annotations

from dataclasses import dataclass

from tts_ebm.samplers.base import Sampler


@dataclass
class Langevin(Sampler):
    """noise_scale lambda = 1 samples exp(-E) (for small eta); 0 is gradient descent."""

    noise_scale: float = 1.0

    def noise_scales(self) -> list[float]:
        return [float(self.noise_scale)] * self.steps
