"""The energy field: g = grad_x E(x, mu), time-free, with the energy itself available."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from tts_ebm.fields.base import Field, FieldValue
from tts_ebm.networks.energy import EnergyNetwork
from tts_ebm.networks.frame import FrameNetConfig

EnergyFn = Callable[[Tensor, Tensor, Tensor], Tensor]


class EnergyField(Field):
    """Wraps an energy function (an `EnergyNetwork` or any callable (x, mu, mask) -> (B,))."""

    has_energy = True

    def __init__(self, network: EnergyFn) -> None:
        super().__init__()
        self.network = network

    @classmethod
    def from_config(cls, frame: FrameNetConfig, energy_head: str = "quadratic") -> EnergyField:
        return cls(EnergyNetwork(frame, energy_head))

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        return self.network(x, mu, mask)

    def energy_at(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None) -> Tensor:
        """E at path time t; this energy is time-free and ignores t."""
        return self.network(x, mu, mask)

    def evaluate(
        self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None, *,
        differentiable: bool = False,
    ) -> FieldValue:
        """Gradient of E at a detached leaf copy of x (grad is enabled even under no_grad)."""
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            energy = self.energy_at(leaf, mu, mask, t)
            (grad,) = torch.autograd.grad(energy.sum(), leaf, create_graph=differentiable)
        if not differentiable:
            energy = energy.detach()
        return FieldValue(vector=grad * mask, energy=energy)
