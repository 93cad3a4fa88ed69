"""Fields (tts_ebm.fields) pinned where the mutation run found them loose: what is detached,
the time each field needs, dtypes and messages."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from tts_ebm import fields
from tts_ebm.errors import UserInputError
from tts_ebm.model import ModelConfig


def built(name: str) -> fields.Field:
    torch.manual_seed(0)
    field = fields.build(name, ModelConfig.tiny(n_mels=4).frame_network())
    nn.init.normal_(field.network.out.weight, std=0.1)  # zero-initialised otherwise
    return field


def inputs(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(1)
    x, mu = torch.randn(2, 4, 6, dtype=dtype), torch.randn(2, 4, 6, dtype=dtype)
    return x, mu, torch.ones(2, 1, 6, dtype=dtype), torch.tensor([0.3, 0.7], dtype=dtype)


@pytest.mark.parametrize("name", ["energy", "timed_energy", "velocity", "x_prediction"])
def test_values_are_detached_unless_differentiable(name):
    """Samplers get plain tensors (no graph kept across steps); criteria get a graph that
    reaches the parameters (the energy's gradient needs create_graph)."""
    field = built(name)
    x, mu, mask, t = inputs()
    plain = field.evaluate(x, mu, mask, t)
    assert not plain.vector.requires_grad and not plain.energy.requires_grad
    with torch.no_grad():  # the energy's gradient is taken even under no_grad
        assert torch.equal(field.evaluate(x, mu, mask, t).vector, plain.vector)
    trained = field.evaluate(x, mu, mask, t, differentiable=True)
    assert trained.vector.requires_grad
    grads = torch.autograd.grad(trained.vector.square().sum(), list(field.parameters()),
                                allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    torch.testing.assert_close(trained.vector.detach(), plain.vector)


def test_the_energy_fields_energy_keeps_its_graph_when_differentiable():
    field = built("energy")
    x, mu, mask, _ = inputs()
    assert field.evaluate(x, mu, mask, differentiable=True).energy.requires_grad


@pytest.mark.parametrize(("name", "message"), [
    ("velocity", "a velocity field needs the path time t (B,)"),
    ("x_prediction", "an x-prediction field needs the path time t (B,)"),
    ("timed_energy", "a timed energy field needs the path time t (B,)"),
])
def test_time_conditional_fields_need_t(name, message):
    x, mu, mask, _ = inputs()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        built(name).evaluate(x, mu, mask)


def test_a_velocity_field_has_no_energy_and_says_what_to_use():
    x, mu, mask, t = inputs(torch.float64)
    field = built("velocity").double()
    value = field.evaluate(x, mu, mask, t)
    assert value.energy.shape == (2,) and value.energy.dtype == torch.float64
    assert value.energy.isnan().all()
    expected = ("a velocity field has no energy: use an energy criterion/option with "
                "model.field: energy, or the fm/delta criterion and the euler/gd sampler")
    with pytest.raises(UserInputError, match=f"^{re.escape(expected)}$"):
        field(x, mu, mask)


def test_a_timed_energy_without_time_is_the_energy_at_the_data_end_in_its_dtype():
    x, mu, mask, t = inputs(torch.float64)
    field = built("timed_energy").double()
    energy = field(x, mu, mask)
    assert energy.dtype == torch.float64
    torch.testing.assert_close(energy, field.evaluate(x, mu, mask, t * 0).energy)
