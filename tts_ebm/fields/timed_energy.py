"""The timed energy field: g = grad_x E(x, mu, t), an energy with a time input.

The third point between the time-free energy (one scalar landscape for every step) and the
velocity field (a time-conditioned vector with no energy): the same network as the energy with
the velocity field's time embedding, so it is time-conditioned like fm's field yet still the
gradient of a scalar. Where no time is given (`field(x, mu, mask)`: traces, reranking, the
energy criteria dsm/ssm/nce) the energy is taken at the data end of the path, t = 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

from tts_ebm.fields.energy import EnergyField
from tts_ebm.networks.energy import EnergyNetwork
from tts_ebm.networks.frame import FrameNetConfig


class TimedEnergyField(EnergyField):
    """E(x, mu, mask, t) from a time-conditional `EnergyNetwork`."""

    @classmethod
    def from_config(cls, frame: FrameNetConfig,
                    energy_head: str = "quadratic") -> TimedEnergyField:
        return cls(EnergyNetwork(frame, energy_head, time_conditional=True))

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        return self.network(x, mu, mask, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device))

    def energy_at(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None) -> Tensor:
        if t is None:
            raise ValueError("a timed energy field needs the path time t (B,)")
        return self.network(x, mu, mask, t)
