"""Masked building blocks shared by the text encoder and the energy network.

All tensors are channel-first (B, C, T) with a float mask (B, 1, T). Attention is written
out with matmul + softmax (not the fused SDPA kernels) because score-matching criteria
differentiate the energy's gradient again, and plain ops support double backward everywhere.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over channels of each frame, so no statistic mixes valid and padded frames."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention whose keys exclude padded frames."""

    def __init__(self, channels: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, c, t = x.shape
        q, k, v = self.qkv(x).view(b, 3, self.heads, c // self.heads, t).unbind(1)
        scores = torch.matmul(q.transpose(-1, -2), k) / math.sqrt(c // self.heads)  # (B,H,T,T)
        # A finite fill keeps a fully padded row uniform instead of NaN.
        scores = scores.masked_fill(mask.unsqueeze(1) == 0, torch.finfo(scores.dtype).min)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        y = torch.matmul(v, weights.transpose(-1, -2)).reshape(b, c, t)
        return self.out(y)


class ConvFeedForward(nn.Module):
    """Position-wise feed-forward with a temporal kernel (FastSpeech / Grad-TTS style)."""

    def __init__(self, channels: int, filter_channels: int, kernel: int,
                 activation: type[nn.Module], dropout: float = 0.0) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(channels, filter_channels, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(filter_channels, channels, kernel, padding=kernel // 2)
        self.act = activation()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.dropout(self.act(self.conv1(x * mask)))
        return self.conv2(h * mask)


class TransformerBlock(nn.Module):
    """Pre-norm transformer block; the output on padded frames is zero."""

    def __init__(self, channels: int, filter_channels: int, heads: int, kernel: int,
                 activation: type[nn.Module], dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = ChannelLayerNorm(channels)
        self.attn = MaskedSelfAttention(channels, heads, dropout)
        self.norm2 = ChannelLayerNorm(channels)
        self.ffn = ConvFeedForward(channels, filter_channels, kernel, activation, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.dropout(self.attn(self.norm1(x), mask))
        x = x + self.dropout(self.ffn(self.norm2(x), mask))
        return x * mask
