"""Sampler early stop: an utterance that met the tolerance is frozen where it was."""

from __future__ import annotations

import pytest
import torch

from tts_ebm import samplers

S2 = 0.5  # curvature 1/S2 of the quadratic: grad = (x - mu - 1) / S2


def quadratic(x: torch.Tensor, mu: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (0.5 * (x - mu - 1.0) ** 2 / S2 * mask).sum(dim=(1, 2))


def starts(errors: list[float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x0 = minimum + a uniform error per utterance, so RMS grad = |error| / S2."""
    mu = torch.randn(len(errors), 3, 4, generator=torch.Generator().manual_seed(0))
    x0 = mu + 1.0 + torch.tensor(errors).view(-1, 1, 1)
    return x0, mu, torch.ones(len(errors), 1, 4)


def test_gd_freezes_each_utterance_at_the_step_it_met_the_tolerance():
    # eta = S2/2 halves the error every step; tol 1e-3 is met when |e| 0.5^k / S2 < 1e-3:
    # error 0 at once (k = 0), 0.01 at k = 5, 1.0 at k = 11 (the loop then stops)
    x0, mu, mask = starts([0.0, 0.01, 1.0])
    sampler = samplers.build("gd", steps=100, step_size=S2 / 2, tol=1e-3)
    x, trace = sampler(quadratic, x0, mu, mask)
    assert trace.steps_taken == 11
    assert trace.energies.shape == (12, 3) and trace.grad_norms.shape == (11, 3)
    error = (x - mu - 1.0).mean(dim=(1, 2))
    assert torch.equal(x[0], x0[0])
    assert error.tolist() == pytest.approx([0.0, 0.01 * 0.5**5, 0.5**11], rel=1e-3, abs=2e-7)
    # without a tolerance every utterance keeps moving for all the steps
    x_all, trace_all = samplers.build("gd", steps=11, step_size=S2 / 2)(quadratic, x0, mu, mask)
    assert trace_all.steps_taken == 11
    assert (x_all - mu - 1.0).mean(dim=(1, 2))[1].item() == pytest.approx(0.01 * 0.5**11, abs=2e-7)


def test_frozen_utterances_get_no_noise_either():
    x0, mu, mask = starts([0.0, 2.0])
    sampler = samplers.build("langevin", steps=5, step_size=0.05, tol=1e-3)
    x, trace = sampler(quadratic, x0, mu, mask, torch.Generator().manual_seed(0))
    assert trace.steps_taken == 5
    assert torch.equal(x[0], x0[0])  # at its minimum from the start: never moves
    assert not torch.allclose(x[1], x0[1])
