"""SynthesisControls (one definition of the synthesis controls) and the samplers' kept steps."""

from __future__ import annotations

import argparse

import pytest
import torch

from tts_ebm import controls, samplers
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError


def test_strings_from_a_form_or_the_command_line_become_numbers() -> None:
    chosen = SynthesisControls.from_mapping({"steps": "4", "step_size": "1/k", "temperature": "0.3",
                                             "length_scale": "1.5", "n_candidates": "",
                                             "seed": " 7 ", "sampler": "gd"})
    assert chosen == SynthesisControls(sampler="gd", steps=4, step_size="1/K", temperature=0.3,
                                       length_scale=1.5, seed=7)
    assert chosen.sampler_options() == {"steps": 4, "step_size": "1/K", "temperature": 0.3}


@pytest.mark.parametrize(("values", "message"), [
    ({"steps": 2.5}, "K (steps) must be an integer"),
    ({"steps": -1}, "K (steps) must be >= 0"),
    ({"steps": True}, "K (steps) must be a number"),
    ({"temperature": "inf"}, "temperature τ must be >= 0"),
    ({"step_size": "0"}, "step size must be a positive number or 1/K"),
    ({"step_size": "fast"}, "step size must be a number or 1/K"),
    ({"length_scale": -1}, "length scale must be > 0"),
    ({"n_candidates": 0}, "candidates must be >= 1"),
    ({"seed": 2**63}, "seed must be <="),
    ({"sampler": "ddim"}, "unknown sampler 'ddim'"),
])
def test_bad_values_are_refused_by_name(values: dict, message: str) -> None:
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SynthesisControls(**values)


def test_command_line_flags_come_from_the_dataclass() -> None:
    parser = argparse.ArgumentParser()
    controls.add_arguments(parser)
    args = parser.parse_args(["--steps", "3", "--step-size", "0.2", "--n-candidates", "2"])
    assert SynthesisControls.from_args(args) == SynthesisControls(steps=3, step_size=0.2,
                                                                   n_candidates=2)


def quadratic(x, mu, mask):
    return 0.5 * (((x - mu) * mask) ** 2).sum(dim=(1, 2))


@pytest.mark.parametrize("n_candidates", [1, 3])
def test_kept_steps_are_the_path_the_energies_were_taken_on(n_candidates: int) -> None:
    """states[k] is x where energies[k] was evaluated: states[0] the start, states[-1] the
    returned sample; keeping them changes nothing else."""
    mu = torch.randn(2, 4, 6)
    mask = torch.ones(2, 1, 6)
    mask[1, :, 4:] = 0
    options = {"steps": 3, "temperature": 1.0, "n_candidates": n_candidates}
    plain = samplers.build("gd", **options)
    keeping = samplers.build("gd", keep_steps=True, **options)
    x, trace = keeping.sample(quadratic, mu, mask, torch.Generator().manual_seed(0))
    x_plain, trace_plain = plain.sample(quadratic, mu, mask, torch.Generator().manual_seed(0))
    assert trace_plain.states is None
    torch.testing.assert_close(x, x_plain)
    assert trace.states.shape == (4, 2, 4, 6)
    torch.testing.assert_close(trace.states[-1], x)
    for k in range(4):
        torch.testing.assert_close(quadratic(trace.states[k], mu, mask), trace.energies[k])


def test_pitch_controls_are_checked_and_reach_the_model_as_prosody():
    from tts_ebm.model.variance import VarianceControls

    controls = SynthesisControls(pitch_shift="-3.5", pitch_range="0.5")
    assert controls.prosody() == VarianceControls(-3.5, 0.5)
    assert SynthesisControls().prosody().is_default
    for bad, message in (({"pitch_shift": 13}, "pitch shift"), ({"pitch_shift": -12.5}, "pitch shift"),
                         ({"pitch_range": -0.1}, "pitch range"), ({"pitch_range": 4}, "pitch range"),
                         ({"pitch_shift": "up"}, "pitch shift")):
        with pytest.raises(UserInputError, match=message):
            SynthesisControls(**bad)
