"""The frame network that every field is built on: a conv + transformer stack over frames.

It maps (x, mu) (B, D, T) to per-frame outputs (B, C_out, T), with an optional time input t
(B,) for time-conditioned fields. No down-sampling (any length works, no rounding), no absolute
position encoding (training sees random segments, inference whole utterances), SiLU/GELU
activations (score-matching criteria differentiate the gradient of an energy again, which needs
non-zero second derivatives).

Masking: x and mu are zeroed on padded frames before the first layer, every conv input is
masked, attention ignores padded keys and outputs are masked, so padded values change nothing
on valid frames.
"""

from __future__ import annotations

import math

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


class TimeEmbedding(nn.Module):
    """t in [0, 1] (B,) -> (B, C): sinusoids of 1000 t (as Grad-TTS/Matcha) and a SiLU MLP."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.mlp = nn.Sequential(nn.Linear(channels, channels), nn.SiLU(),
                                 nn.Linear(channels, channels))

    def forward(self, t: Tensor) -> Tensor:
        half = self.channels // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
        angles = 1000.0 * t.to(freqs.dtype)[:, None] * freqs[None, :]
        sinusoids = torch.cat([angles.sin(), angles.cos()], dim=1)
        if self.channels % 2:
            sinusoids = torch.nn.functional.pad(sinusoids, (0, 1))
        return self.mlp(sinusoids.to(t.dtype))


class FrameNetwork(nn.Module):
    """(x, mu, mask[, t]) -> per-frame outputs (B, out_channels, T), zero on padded frames.

    Sized by the `energy_*` fields of ModelConfig whichever field it serves. With
    `time_conditional`, an embedding of t is added to the hidden frames before every block.
    """

    def __init__(self, config: ModelConfig, out_channels: int,
                 time_conditional: bool = False) -> None:
        super().__init__()
        c = config.energy_channels
        self.inp = nn.Conv1d(2 * config.n_mels, c, 1)
        self.time = TimeEmbedding(c) if time_conditional else None
        self.blocks = nn.ModuleList()
        for _ in range(config.energy_depth):
            self.blocks.append(ResConvBlock(c, config.energy_kernel))
            self.blocks.append(TransformerBlock(c, config.energy_filter_channels,
                                                config.energy_heads, config.energy_kernel,
                                                nn.GELU))
        self.norm = ChannelLayerNorm(c)
        self.act = nn.SiLU()
        self.out = nn.Conv1d(c, out_channels, 1)

    def frames(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None) -> Tensor:
        """Per-frame outputs; t (B,) is required by, and only used by, a time-conditional net."""
        h = self.inp(torch.cat([x, mu], dim=1) * mask) * mask
        shift = None
        if self.time is not None:
            if t is None:
                raise ValueError("this network is time-conditional: pass t (B,)")
            shift = self.time(t.reshape(-1).expand(x.shape[0]))[:, :, None]
        for block in self.blocks:
            h = block(h if shift is None else h + shift * mask, mask)
        return self.out(self.act(self.norm(h)) * mask) * mask
