"""The acoustic model's duration and prior losses against values computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tts_ebm.model import AcousticModel, ModelConfig

N_MELS = 80
DURATIONS = [[2, 3, 1], [4, 2, 0]]  # frames per token; utterance 1 has two tokens
LOG_D_PRED = [[0.0, 1.0, 0.5], [1.0, 1.0, 9.0]]  # 9.0 sits on a padded token: must not count
OFFSET = 0.25  # every valid mel frame is its token mean + OFFSET (in every bin)


class FixedEncoder(nn.Module):
    """Stands in for the text encoder: token means far apart, so MAS finds DURATIONS."""

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor):
        mask = (torch.arange(tokens.shape[1])[None] < lengths[:, None]).float().unsqueeze(1)
        mu = torch.stack([torch.full((N_MELS,), 10.0 * (t + 1)) for t in range(3)], 1)
        mu = mu.unsqueeze(0).repeat(len(tokens), 1, 1) * mask
        return mu, torch.tensor(LOG_D_PRED).unsqueeze(1) * mask, mask


def zero_criterion(energy_fn, x, mu, mask, negatives=None):
    return x.sum() * 0.0, {}


@pytest.mark.parametrize("weights", [(1.0, 1.0), (0.5, 3.0)])
def test_duration_and_prior_losses_match_hand_values(weights):
    prior_weight, duration_weight = weights
    config = ModelConfig.tiny()
    config.prior_weight, config.duration_weight = prior_weight, duration_weight
    model = AcousticModel(config, n_symbols=10)
    model.encoder = FixedEncoder()
    tokens = torch.tensor([[1, 2, 3], [1, 2, 0]])
    token_lengths = torch.tensor([3, 2])
    mel_lengths = torch.tensor([6, 6])
    mels = torch.full((2, N_MELS, 7), 123.0)  # frame 6 is padding for both: ignored
    for b, row in enumerate(DURATIONS):
        start = 0
        for t, d in enumerate(row):
            mels[b, :, start:start + d] = 10.0 * (t + 1) + OFFSET
            start += d

    loss, logs = model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                            zero_criterion)

    # duration: MSE of predicted log d against log of the MAS durations, valid tokens only
    squared = [(LOG_D_PRED[b][t] - math.log(DURATIONS[b][t])) ** 2
               for b, n in enumerate([3, 2]) for t in range(n)]
    duration = sum(squared) / len(squared)
    # prior: Gaussian NLL per valid (frame, bin): 0.5 * (offset^2 + log 2 pi)
    prior = 0.5 * (OFFSET**2 + math.log(2 * math.pi))
    assert logs["duration"].item() == pytest.approx(duration, rel=1e-5)
    assert logs["prior"].item() == pytest.approx(prior, rel=1e-5)
    assert logs["criterion"].item() == 0.0
    assert loss.item() == pytest.approx(prior_weight * prior + duration_weight * duration,
                                        rel=1e-5)
