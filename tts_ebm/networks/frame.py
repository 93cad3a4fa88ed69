"""The frame network that every field is built on: a 1-D U-Net of conv + transformer blocks.

It maps (x, mu) (B, D, T) to per-frame outputs (B, C_out, T), with an optional time input t
(B,) for time-conditioned fields. With `levels` = 0 it is a flat stack at the frame rate; with
`levels` = n the frames are halved n times by strided convolutions on the way down (each level a
residual conv block), the `depth` conv + transformer blocks run at the coarsest rate (attention
on T / 2^n frames), and the way up doubles the rate again and adds the skip of the same level, as
Matcha-TTS's decoder does. The coarse levels see far wider contexts (formant transitions, whole
syllables) for the same cost. Inputs are padded to a multiple of 2^n frames inside `frames` and
the output cut back, so any length works. No absolute position encoding (training sees random
segments, inference whole utterances); the convolutions give the attention relative position.
SiLU/GELU activations: score-matching criteria differentiate the gradient of an energy again,
which needs non-zero second derivatives.

Time (time-conditional fields only): a sinusoidal embedding of t (a quarter of the channels, so
that a time-conditional field stays within 1 % of the energy's size), projected separately for
every conv block (its own shift per block, as Grad-TTS/Matcha condition each resnet block).

Masking: x and mu are zeroed on padded frames before the first layer, every conv input is
masked, attention ignores padded keys and outputs are masked, so padded values change nothing
on valid frames; a coarse frame is valid when any frame under it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tts_ebm.networks.layers import ChannelLayerNorm, TransformerBlock


@dataclass(frozen=True)
class FrameNetConfig:
    """Sizes of the frame network (ModelConfig's `frame_*` fields)."""

    n_mels: int
    channels: int
    filter_channels: int
    heads: int
    depth: int
    kernel: int
    levels: int = 0


class ResConvBlock(nn.Module):
    """Two masked SiLU convolutions with a residual connection (local spectral detail); with
    `time_channels`, its own projection of the time embedding is added to its input; the first
    convolution may be dilated (wider context for the same cost)."""

    def __init__(self, channels: int, kernel: int, time_channels: int = 0,
                 dilation: int = 1) -> None:
        super().__init__()
        self.norm = ChannelLayerNorm(channels)
        self.conv1 = nn.Conv1d(channels, channels, kernel, padding=dilation * (kernel // 2),
                               dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.act = nn.SiLU()
        self.time = nn.Linear(time_channels, channels) if time_channels else None

    def forward(self, x: Tensor, mask: Tensor, time: Tensor | None = None) -> Tensor:
        if self.time is not None:
            x = (x + self.time(time)[:, :, None]) * mask
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


def _halve_mask(mask: Tensor) -> Tensor:
    """(B, 1, T) with T even -> (B, 1, T/2): a coarse frame is valid if either frame is.
    (A max over pairs, not max_pool1d, whose shape rule torch.export cannot keep symbolic.)"""
    return mask.unflatten(-1, (-1, 2)).amax(-1)


class FrameNetwork(nn.Module):
    """(x, mu, mask[, t]) -> per-frame outputs (B, out_channels, T), zero on padded frames."""

    def __init__(self, config: FrameNetConfig, out_channels: int,
                 time_conditional: bool = False) -> None:
        super().__init__()
        c = config.channels
        self.levels = config.levels
        self.inp = nn.Conv1d(2 * config.n_mels, c, 1)
        tc = max(c // 4, 2) if time_conditional else 0
        self.time = TimeEmbedding(tc) if time_conditional else None
        self.down = nn.ModuleList(ResConvBlock(c, config.kernel, tc) for _ in range(self.levels))
        self.downsample = nn.ModuleList(nn.Conv1d(c, c, 3, stride=2, padding=1)
                                        for _ in range(self.levels))
        self.blocks = nn.ModuleList()
        for _ in range(config.depth):
            self.blocks.append(ResConvBlock(c, config.kernel, tc))
            self.blocks.append(TransformerBlock(c, config.filter_channels, config.heads,
                                                config.kernel, nn.GELU))
        self.upsample = nn.ModuleList(nn.Conv1d(c, c, 3, padding=1) for _ in range(self.levels))
        self.up = nn.ModuleList(ResConvBlock(c, config.kernel, tc) for _ in range(self.levels))
        self.norm = ChannelLayerNorm(c)
        self.act = nn.SiLU()
        self.out = nn.Conv1d(c, out_channels, 1)

    def frames(self, x: Tensor, mu: Tensor, mask: Tensor, t: Tensor | None = None) -> Tensor:
        """Per-frame outputs; t (B,) is required by, and only used by, a time-conditional net."""
        time = None
        if self.time is not None:
            if t is None:
                raise ValueError("this network is time-conditional: pass t (B,)")
            time = self.time(t.reshape(-1).expand(x.shape[0]))
        n_frames = x.shape[-1]
        pad = -n_frames % (2 ** self.levels)
        if pad:
            x, mu, mask = (F.pad(v, (0, pad)) for v in (x, mu, mask))
        h = self.inp(torch.cat([x, mu], dim=1) * mask) * mask
        skips = []
        for block, downsample in zip(self.down, self.downsample):
            h = block(h, mask, time)
            skips.append((h, mask))
            mask = _halve_mask(mask)
            h = downsample(h) * mask
        for block in self.blocks:
            h = block(h, mask, time) if isinstance(block, ResConvBlock) else block(h, mask)
        for block, upsample in zip(self.up, self.upsample):
            skip, mask = skips.pop()
            h = (upsample(F.interpolate(h, scale_factor=2.0, mode="nearest")) + skip) * mask
            h = block(h, mask, time)
        out = self.out(self.act(self.norm(h)) * mask) * mask
        return out[..., :n_frames]
