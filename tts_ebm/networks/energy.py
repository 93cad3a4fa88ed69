"""The energy network E_theta(x, mu, mask) -> (B,), a sum over valid frames.

Built on the shared `FrameNetwork` (tts_ebm/networks/frame.py). The default energy has no
time/noise-level input: E(x, mu, mask), turned by `tts_ebm.fields.EnergyField` into the
time-free field g = grad_x E that samplers and criteria use. With `time_conditional` it is
E(x, mu, mask, t) (the `timed_energy` field). Padded frames change neither E nor its gradient on
valid frames.
"""

from __future__ import annotations

from torch import Tensor, nn

from tts_ebm.networks.frame import FrameNetConfig, FrameNetwork

ENERGY_HEADS = ("quadratic", "scalar")


class EnergyNetwork(FrameNetwork):
    """E(x, mu, mask) with a `quadratic` or `scalar` head (see docs/DESIGN.md section 3).

    quadratic: E = 1/2 sum_t mask_t ||x_t - f(x, mu)_t||^2 with f = mu + g(x, mu) and the
        last layer of g zero-initialised, so training starts from E = 1/2 ||x - mu||^2,
        a sensible prior whose gradient descent from mu + noise already lands on mu.
    scalar: E = sum_t mask_t h(x, mu)_t with one scalar per frame.
    """

    def __init__(self, config: FrameNetConfig, head: str = "quadratic",
                 time_conditional: bool = False) -> None:
        if head not in ENERGY_HEADS:
            raise ValueError(f"energy head must be one of {ENERGY_HEADS}, got {head!r}")
        super().__init__(config, config.n_mels if head == "quadratic" else 1, time_conditional)
        self.head = head
        if self.head == "quadratic":
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def features(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None) -> Tensor:
        """Per-frame output: f(x, mu) for `quadratic` (B, D, T), h(x, mu) for `scalar` (B, 1, T)."""
        out = self.frames(x, mu, mask, t)
        return mu * mask + out if self.head == "quadratic" else out

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None) -> Tensor:
        """x, mu (B, D, T); mask (B, 1, T) float 0/1; t (B,) if time-conditional -> (B,)."""
        out = self.features(x, mu, mask, t)
        if self.head == "quadratic":
            return 0.5 * (((x - out) * mask) ** 2).sum((1, 2))
        return (out * mask).sum((1, 2))
