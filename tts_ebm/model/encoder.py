"""Text encoder and duration predictor (Grad-TTS / Matcha-TTS layout)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from tts_ebm.model.alignment import sequence_mask
from tts_ebm.model.config import ModelConfig
from tts_ebm.networks.layers import ChannelLayerNorm, TransformerBlock


class EncoderOutput(NamedTuple):
    """Per-token outputs of the text encoder; all zero on padded tokens."""

    mu: Tensor             # (B, n_mels, L) per-token mean mel
    log_durations: Tensor  # (B, 1, L)
    mask: Tensor           # (B, 1, L) float
    hidden: Tensor         # (B, C, L) the states mu is projected from (the prior decoder's input)


class ConvPrenet(nn.Module):
    """Conv -> LayerNorm -> ReLU stack with a zero-initialised residual projection.

    Gives the transformer local (phoneme-context) features; starting as the identity
    keeps early training close to the plain embedding.
    """

    def __init__(self, channels: int, kernel: int, n_layers: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel, padding=kernel // 2) for _ in range(n_layers)
        )
        self.norms = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(n_layers))
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Conv1d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = x
        for conv, norm in zip(self.layers, self.norms):
            h = self.dropout(torch.relu(norm(conv(h * mask))))
        return (x + self.proj(h)) * mask


def sinusoidal_positions(length: int, channels: int, device: torch.device) -> Tensor:
    """(1, C, T) sinusoidal position encoding; the encoder always sees whole sentences."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, channels, 2, device=device, dtype=torch.float32)
        * (-math.log(10000.0) / channels)
    )
    pe = torch.zeros(length, channels, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: channels // 2])
    return pe.T.unsqueeze(0)


class DurationPredictor(nn.Module):
    """Predicts log durations per token from the (detached) encoder output."""

    def __init__(self, in_channels: int, channels: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, channels, kernel, padding=kernel // 2)
        self.norm1 = ChannelLayerNorm(channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm2 = ChannelLayerNorm(channels)
        self.proj = nn.Conv1d(channels, 1, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = self.dropout(self.norm1(torch.relu(self.conv1(x * mask))))
        h = self.dropout(self.norm2(torch.relu(self.conv2(h * mask))))
        return self.proj(h * mask) * mask


class TextEncoder(nn.Module):
    """Token ids -> per-token mean mel mu_ph (B, n_mels, L) and log durations (B, 1, L)."""

    def __init__(self, n_symbols: int, config: ModelConfig) -> None:
        super().__init__()
        c = config.encoder_channels
        self.channels = c
        self.embedding = nn.Embedding(n_symbols, c, padding_idx=0)
        nn.init.normal_(self.embedding.weight, 0.0, c**-0.5)
        self.prenet = ConvPrenet(c, config.encoder_prenet_kernel, config.encoder_prenet_layers,
                                 config.encoder_dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(c, config.encoder_filter_channels, config.encoder_heads,
                             config.encoder_kernel, nn.ReLU, config.encoder_dropout)
            for _ in range(config.encoder_layers)
        )
        self.norm = ChannelLayerNorm(c)
        self.proj_mu = nn.Conv1d(c, config.n_mels, 1)
        self.duration = DurationPredictor(c, config.duration_channels, config.duration_kernel,
                                          config.duration_dropout)

    def forward(self, tokens: Tensor, lengths: Tensor) -> EncoderOutput:
        """Per-token mu, log durations, mask and hidden states."""
        mask = sequence_mask(lengths, tokens.shape[1]).unsqueeze(1).to(torch.float32)
        x = self.embedding(tokens).transpose(1, 2) * math.sqrt(self.channels)
        x = self.prenet(x, mask)
        x = (x + sinusoidal_positions(x.shape[-1], self.channels, x.device)) * mask
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x) * mask
        mu = self.proj_mu(x) * mask
        # Detached, as in Glow-TTS: the duration loss must not reshape the text features.
        log_durations = self.duration(x.detach(), mask)
        return EncoderOutput(mu, log_durations, mask, x)
