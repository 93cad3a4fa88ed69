"""The prior decoder: frame-level mu with transitions, after the length regulator.

Expanding the encoder's per-phoneme means gives a piecewise-constant mu: every phoneme a flat
block, no formant transitions across its edges. The field then has to draw every transition
itself from a few gradient steps. FastSpeech 2 decodes the expanded encoder states with a stack
over frames instead; this does the same on top of the blocks, mu = expand(mu_ph) + dec(expand(h)),
with the last layer zero-initialised so training starts from the piecewise-constant mu. The
stack is convolutional only (residual blocks with dilations 1, 2, 4, ...): transitions are local,
and the decoder runs over whole utterances in every training step, where attention over frames
cost 3x the step of the `small` model on a CPU (0.82 against 2.5 steps/s). It is
trained by the prior loss on frames (the Gaussian NLL of the target mel), while expand(mu_ph)
keeps its own prior loss: MAS aligns with the per-phoneme means and needs them to stay means.
"""

from __future__ import annotations

from torch import Tensor, nn

from tts_ebm.networks.frame import ResConvBlock
from tts_ebm.networks.layers import ChannelLayerNorm


class PriorDecoder(nn.Module):
    """(expanded encoder states (B, C_enc, T), mask) -> residual of mu (B, n_mels, T)."""

    def __init__(self, in_channels: int, channels: int, n_mels: int, layers: int,
                 kernel: int) -> None:
        super().__init__()
        self.inp = nn.Conv1d(in_channels, channels, 1)
        self.blocks = nn.ModuleList(ResConvBlock(channels, kernel, dilation=2 ** i)
                                    for i in range(layers))
        self.norm = ChannelLayerNorm(channels)
        self.act = nn.SiLU()
        self.out = nn.Conv1d(channels, n_mels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        x = self.inp(h * mask) * mask
        for block in self.blocks:
            x = block(x, mask)
        return self.out(self.act(self.norm(x)) * mask) * mask
