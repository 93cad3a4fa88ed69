"""Variance adaptor: the pitch variable, targets per level, teacher forcing, controls, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.model.alignment import expand, path_from_durations
from tts_ebm.model.variance import (
    F0_MAX,
    F0_MIN,
    VarianceAdaptor,
    VarianceControls,
    continuous_log_f0,
    normalise_log_f0,
    semitones_to_normalised,
)

N_SYMBOLS = 30


def test_continuous_log_f0_interpolates_unvoiced_frames_and_holds_the_ends():
    f0 = np.array([0.0, 100.0, 0.0, 0.0, 400.0, 0.0])
    log_f0 = continuous_log_f0(f0, 6)
    expected_middle = np.log(100.0) + (np.log(400.0) - np.log(100.0)) * np.array([1, 2]) / 3
    np.testing.assert_allclose(log_f0[[0, 1]], np.log(100.0), rtol=1e-6)
    np.testing.assert_allclose(log_f0[[2, 3]], expected_middle, rtol=1e-6)
    np.testing.assert_allclose(log_f0[[4, 5]], np.log(400.0), rtol=1e-6)


def test_continuous_log_f0_cuts_pads_and_clips():
    assert continuous_log_f0(np.full(10, 200.0), 4).shape == (4,)
    np.testing.assert_allclose(continuous_log_f0(np.array([200.0, 0.0]), 5), np.log(200.0))
    np.testing.assert_allclose(continuous_log_f0(np.array([20.0, 2000.0]), 2),
                               np.log([F0_MIN, F0_MAX]), rtol=1e-6)
    unvoiced = continuous_log_f0(np.zeros(3), 3)
    np.testing.assert_allclose(normalise_log_f0(torch.from_numpy(unvoiced)), 0.0, atol=1e-6)


def test_pitch_range_maps_to_minus_one_one_and_an_octave_is_twelve_semitones():
    ends = normalise_log_f0(torch.log(torch.tensor([F0_MIN, F0_MAX])))
    torch.testing.assert_close(ends, torch.tensor([-1.0, 1.0]))
    octave = normalise_log_f0(torch.tensor(math.log(400.0))) \
        - normalise_log_f0(torch.tensor(math.log(200.0)))
    assert float(octave) == pytest.approx(semitones_to_normalised(12.0))


def _path(durations: list[list[int]], frames: int) -> torch.Tensor:
    return path_from_durations(torch.tensor(durations), frames)


@pytest.mark.parametrize("level", ["phoneme", "frame"])
@pytest.mark.parametrize("embedding", ["continuous", "quantised"])
def test_adaptor_targets_loss_and_teacher_forcing(level, embedding):
    torch.manual_seed(0)
    adaptor = VarianceAdaptor(8, 16, level, embedding, energy=True)
    hidden = torch.randn(1, 8, 3)
    token_mask = torch.ones(1, 1, 3)
    path = _path([[2, 3, 1]], 6)
    frame_mask = torch.ones(1, 1, 6)
    target = torch.tensor([[[0.1, 0.3, -0.2, -0.2, 0.4, 0.5], [1.0, 1.0, 0.0, 0.0, 0.0, 2.0]]])
    out = adaptor(hidden, expand(hidden, path), token_mask, path, frame_mask, target)
    names = ["pitch", "energy"]
    assert sorted(out.terms) == sorted(names)
    if level == "phoneme":  # the frame values averaged over each token's frames
        expected = torch.tensor([[[0.2, 0.0, 0.5], [1.0, 0.0, 2.0]]])
    else:
        expected = target
    for i, name in enumerate(names):
        mse = ((out.predicted[:, i] - expected[:, i]) ** 2).mean()
        torch.testing.assert_close(out.terms[name], mse)
    torch.testing.assert_close(out.loss, out.terms["pitch"] + out.terms["energy"])
    # teacher forcing: the embedding depends on the target, not on the prediction
    other = adaptor(hidden, expand(hidden, path), token_mask, path, frame_mask, target + 0.5)
    assert not torch.allclose(out.embedded, other.embedded)
    with torch.no_grad():
        for p in adaptor.predictor.parameters():
            p.add_(1.0)
    again = adaptor(hidden, expand(hidden, path), token_mask, path, frame_mask, target)
    torch.testing.assert_close(again.embedded, out.embedded)


def test_predictor_reads_the_text_states_detached():
    adaptor = VarianceAdaptor(8, 16, "frame", "continuous", energy=False)
    hidden = torch.randn(1, 8, 3, requires_grad=True)
    path = _path([[2, 2, 2]], 6)
    out = adaptor(hidden, expand(hidden, path), torch.ones(1, 1, 3), path, torch.ones(1, 1, 6),
                  torch.zeros(1, 1, 6))
    out.loss.backward()
    assert hidden.grad is None


def test_controls_shift_the_pitch_and_scale_its_range():
    torch.manual_seed(0)
    adaptor = VarianceAdaptor(8, 16, "frame", "continuous", energy=False)
    adaptor.embed.conv = torch.nn.Identity()  # read the values back
    hidden = torch.randn(1, 8, 3)
    path = _path([[2, 2, 2]], 6)
    args = (hidden, expand(hidden, path), torch.ones(1, 1, 3), path, torch.ones(1, 1, 6))
    base = adaptor(*args).embedded[0, 0]
    shifted = adaptor(*args, controls=VarianceControls(pitch_shift=12.0)).embedded[0, 0]
    torch.testing.assert_close(shifted - base, torch.full_like(base, semitones_to_normalised(12)))
    flat = adaptor(*args, controls=VarianceControls(pitch_range=0.0)).embedded[0, 0]
    torch.testing.assert_close(flat, torch.full_like(flat, float(base.detach().mean())))
    wide = adaptor(*args, controls=VarianceControls(pitch_range=2.0)).embedded[0, 0]
    torch.testing.assert_close(wide - base.mean(), 2 * (base - base.mean()))


def test_config_checks():
    with pytest.raises(UserInputError, match="variance_level"):
        ModelConfig.tiny(variance_level="word")
    with pytest.raises(UserInputError, match="variance_embedding"):
        ModelConfig.tiny(variance_level="frame", variance_embedding="binned")
    with pytest.raises(UserInputError, match="decoder_layers"):
        ModelConfig.tiny(variance_level="frame", decoder_layers=0)


def _batch():
    torch.manual_seed(0)
    tokens = torch.randint(1, N_SYMBOLS, (2, 8))
    tokens[1, 5:] = 0
    mels = torch.randn(2, 80, 40)
    log_f0 = torch.log(torch.linspace(120, 240, 40)).repeat(2, 1)
    return tokens, torch.tensor([8, 5]), mels, torch.tensor([40, 25]), log_f0


def _criterion(field, x, mu, mask, negatives=None):
    loss = ((x - mu) ** 2 * mask).mean()
    return loss, {}


def test_model_trains_the_adaptor_and_needs_the_f0():
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(variance_level="frame", variance_energy=True),
                          N_SYMBOLS)
    tokens, token_lengths, mels, mel_lengths, log_f0 = _batch()
    loss, logs = model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                            _criterion, log_f0=log_f0)
    assert {"variance/pitch", "variance/energy"} <= set(logs)
    loss.backward()
    assert model.variance.predictor.out.weight.grad.abs().sum() > 0
    with pytest.raises(UserInputError, match="prepare features"):
        model.training_step_losses(tokens, token_lengths, mels, mel_lengths, _criterion)


def test_the_pitch_reaches_mu():
    """mu is decoded from the pitch: a different F0 gives a different mu in training, and a
    pitch shift a different one at inference; without an adaptor, pitch controls are refused."""
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(variance_level="phoneme"), N_SYMBOLS)
    torch.nn.init.normal_(model.decoder.out.weight, 0.0, 0.1)  # zero-initialised otherwise
    tokens, token_lengths, mels, mel_lengths, log_f0 = _batch()
    low = model.align(tokens, token_lengths, mels, mel_lengths, log_f0)
    high = model.align(tokens, token_lengths, mels, mel_lengths, log_f0 + 0.5)
    assert not torch.allclose(low.mu, high.mu)
    torch.testing.assert_close(low.mu_blocks, high.mu_blocks)

    class Identity:
        def sample(self, field, mu, mask, generator=None):
            return mu, None

    base = model.generate(tokens, token_lengths, Identity())
    shifted = model.generate(tokens, token_lengths, Identity(),
                             prosody=VarianceControls(pitch_shift=5.0))
    torch.testing.assert_close(base.durations, shifted.durations)
    assert not torch.allclose(base.mu, shifted.mu)
    plain = AcousticModel(ModelConfig.tiny(), N_SYMBOLS)
    with pytest.raises(UserInputError, match="no pitch predictor"):
        plain.generate(tokens, token_lengths, Identity(), prosody=VarianceControls(0.0, 0.5))


def test_a_window_restricts_the_predictor_loss_not_the_embedding():
    """variance_window: the frame predictor is regressed on the window's frames only (its
    states and targets gathered there); every frame is still embedded from the recordings."""
    torch.manual_seed(0)
    adaptor = VarianceAdaptor(8, 16, "frame", "continuous", energy=False)
    hidden = torch.randn(1, 8, 3)
    path = _path([[2, 2, 2]], 6)
    states = expand(hidden, path)
    args = (hidden, states, torch.ones(1, 1, 3), path, torch.ones(1, 1, 6))
    target = torch.tensor([[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]])
    whole = adaptor(*args, target)
    window = (torch.tensor([[3, 4, 5, 6]]), torch.tensor([[[True, True, True, False]]]))
    windowed = adaptor(*args, target, window=window)
    torch.testing.assert_close(windowed.embedded, whole.embedded)
    predicted = adaptor.predictor(states[:, :, 3:], torch.ones(1, 1, 3))
    torch.testing.assert_close(windowed.terms["pitch"],
                               ((predicted - target[:, :, 3:]) ** 2).mean())
    assert not torch.allclose(windowed.terms["pitch"], whole.terms["pitch"])


def test_the_model_draws_the_window_only_in_training():
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(variance_level="frame", variance_window=8), N_SYMBOLS)
    tokens, token_lengths, mels, mel_lengths, log_f0 = _batch()
    prior = model.align(tokens, token_lengths, mels, mel_lengths, log_f0)
    assert prior.variance.predicted.shape[-1] == 8
    with pytest.raises(UserInputError, match="variance_window"):
        ModelConfig.tiny(variance_level="frame", variance_window=-1)
