"""The energy network E_theta(x, mu, mask) -> (B,), a sum over valid frames.

Built on the shared `FrameNetwork` (tts_ebm/model/backbone.py). There is no time/noise-level
input: the interface is E(x, mu, mask), and `tts_ebm.fields.EnergyField` turns it into the
time-free field g = grad_x E that samplers and criteria use. Padded frames change neither E nor
its gradient on valid frames.
"""

from __future__ import annotations

from torch import Tensor, nn

from tts_ebm.model.backbone import FrameNetwork
from tts_ebm.model.config import ModelConfig


class EnergyNetwork(FrameNetwork):
    """E(x, mu, mask) with a `quadratic` or `scalar` head (see docs/DESIGN.md section 3).

    quadratic: E = 1/2 sum_t mask_t ||x_t - f(x, mu)_t||^2 with f = mu + g(x, mu) and the
        last layer of g zero-initialised, so training starts from E = 1/2 ||x - mu||^2,
        a sensible prior whose gradient descent from mu + noise already lands on mu.
    scalar: E = sum_t mask_t h(x, mu)_t with one scalar per frame.
    """

    def __init__(self, config: ModelConfig) -> None:
        quadratic = config.energy_head == "quadratic"
        super().__init__(config, config.n_mels if quadratic else 1)
        self.head = config.energy_head
        if self.head == "quadratic":
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def features(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """Per-frame output: f(x, mu) for `quadratic` (B, D, T), h(x, mu) for `scalar` (B, 1, T)."""
        out = self.frames(x, mu, mask)
        return mu * mask + out if self.head == "quadratic" else out

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """x, mu (B, D, T); mask (B, 1, T) float 0/1 -> energies (B,)."""
        out = self.features(x, mu, mask)
        if self.head == "quadratic":
            return 0.5 * (((x - out) * mask) ** 2).sum((1, 2))
        return (out * mask).sum((1, 2))
