"""The energy network E_theta(x, mu, mask) -> (B,), a sum over valid frames.

A conv + transformer stack over frames (no down-sampling, so any length works and there
is no length rounding) with SiLU/GELU activations: score-matching criteria differentiate
the gradient of E again, which needs non-zero second derivatives. There is no absolute
position encoding: training sees random segments, inference whole utterances, and the
energy must not depend on where a segment starts. There is no time/noise-level input:
the interface is E(x, mu, mask), and samplers and criteria use one time-free field.

Masking: x and mu are zeroed on padded frames before the first layer, every conv input
is masked, attention ignores padded keys and per-frame outputs are masked before the sum,
so padded values change neither E nor its gradient on valid frames.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from tts_ebm.model.config import ModelConfig
from tts_ebm.model.layers import ChannelLayerNorm, TransformerBlock


class ResConvBlock(nn.Module):
    """Two masked SiLU convolutions with a residual connection (local spectral detail)."""

    def __init__(self, channels: int, kernel: int) -> None:
        super().__init__()
        self.norm = ChannelLayerNorm(channels)
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.act = nn.SiLU()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.act(self.conv1(self.norm(x) * mask))
        return (x + self.conv2(h * mask)) * mask


class EnergyNetwork(nn.Module):
    """E(x, mu, mask) with a `quadratic` or `scalar` head (see docs/DESIGN.md section 3).

    quadratic: E = 1/2 sum_t mask_t ||x_t - f(x, mu)_t||^2 with f = mu + g(x, mu) and the
        last layer of g zero-initialised, so training starts from E = 1/2 ||x - mu||^2,
        a sensible prior whose gradient descent from mu + noise already lands on mu.
    scalar: E = sum_t mask_t h(x, mu)_t with one scalar per frame.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config.energy_channels
        self.head = config.energy_head
        self.inp = nn.Conv1d(2 * config.n_mels, c, 1)
        self.blocks = nn.ModuleList()
        for _ in range(config.energy_depth):
            self.blocks.append(ResConvBlock(c, config.energy_kernel))
            self.blocks.append(TransformerBlock(c, config.energy_filter_channels,
                                                config.energy_heads, config.energy_kernel,
                                                nn.GELU))
        self.norm = ChannelLayerNorm(c)
        self.act = nn.SiLU()
        self.out = nn.Conv1d(c, config.n_mels if self.head == "quadratic" else 1, 1)
        if self.head == "quadratic":
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def features(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """Per-frame output: f(x, mu) for `quadratic` (B, D, T), h(x, mu) for `scalar` (B, 1, T)."""
        h = self.inp(torch.cat([x, mu], dim=1) * mask) * mask
        for block in self.blocks:
            h = block(h, mask)
        out = self.out(self.act(self.norm(h)) * mask) * mask
        return mu * mask + out if self.head == "quadratic" else out

    def forward(self, x: Tensor, mu: Tensor, mask: Tensor) -> Tensor:
        """x, mu (B, D, T); mask (B, 1, T) float 0/1 -> energies (B,)."""
        out = self.features(x, mu, mask)
        if self.head == "quadratic":
            return 0.5 * (((x - out) * mask) ** 2).sum((1, 2))
        return (out * mask).sum((1, 2))

