"""Samplers: early stop freezes the utterances that met the tolerance; candidates, start noise and\nnoise ladders by hand (cases found by mutation testing, docs/mutation.md)."""

from __future__ import annotations

import math
import re

import pytest
import torch

from tts_ebm import samplers
from tts_ebm.errors import UserInputError
from tts_ebm.fields.base import Field, FieldValue

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


class PullToMu(Field):
    """A velocity field without an energy: g = x - mu."""

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False) -> FieldValue:
        return FieldValue(vector=(x - mu) * mask, energy=x.new_full((x.shape[0],), math.nan))


def test_candidates_need_an_energy():
    mu, mask = torch.zeros(2, 3, 4), torch.ones(2, 1, 4)
    with pytest.raises(UserInputError, match=re.escape(
            "n_candidates > 1 reranks candidates by energy; this model's field has no energy "
            "(use n_candidates 1)")):
        samplers.build("gd", n_candidates=2).sample(PullToMu(), mu, mask)
    x, _ = samplers.build("gd", steps=1, step_size=1.0).sample(PullToMu(), mu, mask)
    assert torch.allclose(x, mu)  # one full step of x - mu lands on mu


def test_two_candidates_give_one_output_per_utterance():
    mu, mask = torch.zeros(3, 2, 4), torch.ones(3, 1, 4)
    x, trace = samplers.build("gd", steps=0, n_candidates=2).sample(
        quadratic, mu, mask, torch.Generator().manual_seed(0))
    assert x.shape == (3, 2, 4) and trace.energies.shape == (1, 3) and trace.steps_taken == 0
    _, trace = samplers.build("gd", steps=2, n_candidates=2).sample(quadratic, mu, mask)
    assert trace.steps_taken == 2 and trace.grad_norms.shape == (2, 3)


def test_start_noise_is_drawn_in_the_dtype_of_mu():
    mu, mask = torch.zeros(2, 3, 4, dtype=torch.float64), torch.ones(2, 1, 4, dtype=torch.float64)
    x, _ = samplers.build("gd", steps=0, temperature=0.5).sample(
        quadratic, mu, mask, torch.Generator().manual_seed(3))
    eps = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert x.dtype == torch.float64 and torch.equal(x, 0.5 * eps)


@pytest.mark.parametrize(("options", "expected"), [
    ({"steps": 3, "noise_max": 2.0, "noise_min": 0.02}, [2.0, 0.2, 0.02]),
    ({"steps": 2, "noise_max": 1.0, "noise_min": 0.1}, [1.0, 0.1]),
    ({"steps": 1, "noise_max": 0.7, "noise_min": 0.1}, [0.7]),
    ({"steps": 0}, []),
    ({"steps": 3, "noise_max": 0.5, "noise_min": 0.5}, [0.5, 0.5, 0.5]),
])
def test_annealed_noise_ladder_by_hand(options, expected):
    assert samplers.build("annealed", **options).noise_scales() == pytest.approx(expected)


class RecordTimes(Field):
    """Energy-free field g = x - mu that records the path times it is evaluated at."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[torch.Tensor] = []

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False) -> FieldValue:
        self.times.append(t)
        return FieldValue(vector=(x - mu) * mask, energy=x.new_full((x.shape[0],), math.nan))


def test_field_sees_the_path_time_of_each_step():
    field = RecordTimes()
    mu, mask = torch.zeros(3, 2, 5), torch.ones(3, 1, 5)
    _, trace = samplers.build("gd", steps=4, step_size=0.5)(field, mu + 1, mu, mask)
    assert [t.tolist() for t in field.times] == [[1.0] * 3, [0.5] * 3, [0.0] * 3, [0.0] * 3]
    assert trace.energies.shape == (5, 3) and torch.isnan(trace.energies[-1]).all()


@pytest.mark.parametrize(("options", "sizes", "times"), [
    ({"steps": 1}, [1.0], [1.0]),  # "1/K"
    ({"steps": 4}, [0.25] * 4, [1.0, 0.75, 0.5, 0.25]),
    ({"steps": 2, "step_size": 0.3, "step_size_end": 0.1}, [0.3, 0.1], [1.0, 0.7]),
    ({"steps": 3, "step_size": 0.6}, [0.6] * 3, [1.0, 0.4, 0.0]),  # time floors at 0
])
def test_step_sizes_and_path_times(options, sizes, times):
    sampler = samplers.build("gd", **options)
    assert sampler.step_sizes() == pytest.approx(sizes)
    assert sampler.times() == pytest.approx(times)


@pytest.mark.parametrize(("options", "message"), [
    ({"steps": 1.5}, "sampler steps must be a non-negative integer, got 1.5"),
    ({"steps": -1}, "sampler steps must be a non-negative integer, got -1"),
    ({"n_candidates": 0}, "sampler n_candidates must be >= 1, got 0"),
    ({"temperature": -1.0}, "sampler temperature must be >= 0, got -1.0"),
])
def test_bad_sampler_options(options, message):
    with pytest.raises(UserInputError, match=re.escape(message)):
        samplers.build("gd", **options)
    with pytest.raises(UserInputError, match=re.escape("unknown sampler 'hmc'")):
        samplers.build("hmc")


def test_grad_clip_leaves_small_gradients_alone():
    # gradient norm per utterance: |error| / S2 * sqrt(12) = 0.25 < clip 0.5: an unclipped step
    error = 0.25 * S2 / 12**0.5
    x0, mu, mask = starts([error, error])
    x, _ = samplers.build("gd", steps=1, step_size=0.1, grad_clip=0.5)(quadratic, x0, mu, mask)
    x_free, _ = samplers.build("gd", steps=1, step_size=0.1)(quadratic, x0, mu, mask)
    torch.testing.assert_close(x, x_free)


def test_langevin_noise_stays_off_padded_frames():
    x0, mu, _ = starts([1.0, 1.0])
    mask = torch.ones(2, 1, 4)
    mask[1, :, 2:] = 0
    x, _ = samplers.build("langevin", steps=3, step_size=0.1)(
        quadratic, x0, mu, mask, torch.Generator().manual_seed(0))
    assert torch.equal(x[1, :, 2:], x0[1, :, 2:]) and torch.isfinite(x).all()


# --- found loose by the mutation run --------------------------------------------------------------


def test_grad_norms_are_the_rms_per_valid_mel_element():
    # a uniform error e gives grad e / S2 on each of the 3 bins x 4 frames: RMS |e| / S2;
    # the padded utterance counts its 2 valid frames x 3 bins only
    x0, mu, mask = starts([0.3, -0.6])
    mask[1, :, 2:] = 0
    _, trace = samplers.build("gd", steps=1, step_size=0.1)(quadratic, x0, mu, mask)
    assert trace.grad_norms[0].tolist() == pytest.approx([0.3 / S2, 0.6 / S2])
    assert samplers.base.n_valid_elements(torch.zeros(2, 1, 4), 80).tolist() == [1.0, 1.0]
    assert samplers.base.n_valid_elements(mask[:, :, :1], 1).tolist() == [1.0, 1.0]


def test_an_rms_equal_to_the_tolerance_still_steps():
    x0, mu, mask = starts([S2, S2])  # RMS gradient exactly 1.0
    x, trace = samplers.build("gd", steps=1, step_size=0.1, tol=1.0)(quadratic, x0, mu, mask)
    assert trace.steps_taken == 1 and not torch.equal(x, x0)


class SecondWakesUp(Field):
    """g = x - mu for utterance 0; (x - mu)(1 - t) for utterance 1: no pull at t = 1."""

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False) -> FieldValue:
        scale = torch.stack([torch.ones_like(t[0]), 1 - t[1]]).view(-1, 1, 1)
        return FieldValue(vector=(x - mu) * scale * mask,
                          energy=x.new_full((x.shape[0],), math.nan))


def test_a_frozen_utterance_stays_frozen_when_its_field_wakes_up():
    # utterance 1 is frozen by tol at the first step (t = 1); its pull grows later, but a
    # frozen utterance must not move again
    mu, mask, x0 = torch.zeros(2, 3, 4), torch.ones(2, 1, 4), torch.ones(2, 3, 4)
    sampler = samplers.build("gd", steps=4, step_size=0.25, tol=1e-3)
    x, trace = sampler(SecondWakesUp(), x0, mu, mask)
    assert trace.steps_taken == 4
    assert torch.equal(x[1], x0[1]) and not torch.equal(x[0], x0[0])


def test_langevin_step_by_hand_in_float64():
    """x1 = x0 - eta grad + sqrt(2 eta) lambda eps, eps drawn from the generator in x's dtype."""
    x0, mu, mask = (t.double() for t in starts([1.0, -1.0]))
    sampler = samplers.build("langevin", steps=1, step_size=0.1, noise_scale=0.5)
    x, _ = sampler(quadratic, x0, mu, mask, torch.Generator().manual_seed(3))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    expected = x0 - 0.1 * (x0 - mu - 1.0) / S2 + (2 * 0.1) ** 0.5 * 0.5 * eps
    torch.testing.assert_close(x, expected, rtol=0, atol=1e-12)


def test_euler_names_its_fixed_step_sizes_exactly():
    message = ("the euler sampler's step sizes are its time grid (1/K each): leave step_size "
               "and step_size_end unset, or use the gd sampler for other step sizes")
    with pytest.raises(UserInputError, match=f"^{re.escape(message)}$"):
        samplers.build("euler", steps=4, step_size=0.1)
