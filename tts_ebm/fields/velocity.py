"""The velocity field: g = v(x, mu, t), the frame network's output with a time input.

The peer of the energy field at the same size (Matcha-TTS's decoder objective, trained by the
`fm` criterion, sampled by `euler`): the same backbone, but the output is the velocity itself,
not the gradient of a scalar, so one evaluation is one forward pass and there is no energy.
Time runs as on the delta path: t = 1 at the start sample z = mu + tau*eps, t = 0 at the data.
The output layer is zero-initialised: training starts from v = 0.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from tts_ebm.errors import UserInputError
from tts_ebm.fields.base import Field, FieldValue
from tts_ebm.networks.frame import FrameNetConfig, FrameNetwork


class VelocityField(Field):
    """v(x, mu, t) (B, D, T) from `FrameNetwork` with a time embedding."""

    has_energy = False
    description: ClassVar[str] = "a velocity field"  # in error messages

    def __init__(self, frame: FrameNetConfig) -> None:
        super().__init__()
        self.network = FrameNetwork(frame, frame.n_mels, time_conditional=True)
        nn.init.zeros_(self.network.out.weight)
        nn.init.zeros_(self.network.out.bias)

    @classmethod
    def from_config(cls, frame: FrameNetConfig, energy_head: str = "quadratic") -> VelocityField:
        """energy_head is ignored: a velocity field has no energy."""
        return cls(frame)

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        raise UserInputError(
            "a velocity field has no energy: use an energy criterion/option with "
            "model.field: energy, or the fm/delta criterion and the euler/gd sampler"
        )

    def velocity(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor) -> Tensor:
        """v(x, mu, t) (B, D, T) before masking: the network's output itself."""
        return self.network.frames(x, mu, mask, t)

    def evaluate(
        self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None, *,
        differentiable: bool = False,
    ) -> FieldValue:
        if t is None:
            raise ValueError(f"{self.description} needs the path time t (B,)")
        with torch.set_grad_enabled(differentiable):
            vector = self.velocity(x.detach(), mu, mask, t) * mask
        if not differentiable:
            vector = vector.detach()
        energy = torch.full((x.shape[0],), float("nan"), dtype=x.dtype, device=x.device)
        return FieldValue(vector=vector, energy=energy)
