"""Acoustic model: shapes, energy masking and sums, MAS, losses, generation, configs."""

from __future__ import annotations

import pytest
import torch
from model_helpers import energy_network

from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.model.alignment import monotonic_alignment, path_from_durations, sequence_mask
from tts_ebm.networks.energy import EnergyNetwork

N_SYMBOLS = 40


def dsm_criterion(energy_fn, x, mu, mask, negatives=None):
    """Stand-in criterion: single-sigma denoising score matching (double backprop)."""
    sigma = 0.5
    eps = torch.randn_like(x)
    xt = (x + sigma * eps).detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy_fn(xt, mu, mask).sum(), xt, create_graph=True)
    loss = (((g - eps / sigma) ** 2) * mask).sum() / (mask.sum() * x.shape[1])
    return loss, {"dsm": loss.detach()}


class GDSampler:
    """Stand-in sampler: K gradient-descent steps of size 1/K from mu + noise."""

    def __init__(self, steps: int = 3) -> None:
        self.steps = steps

    def sample(self, energy_fn, mu, mask, generator=None):
        x = mu + torch.randn(mu.shape, generator=generator)
        for _ in range(self.steps):
            leaf = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(energy_fn(leaf, mu, mask).sum(), leaf)
            x = (x - g / self.steps).detach()
        return x, {"steps": self.steps}


def batch(n_mels: int = 80):
    torch.manual_seed(0)
    tokens = torch.randint(1, N_SYMBOLS, (3, 12))
    token_lengths = torch.tensor([12, 9, 5])
    tokens[1, 9:] = 0
    tokens[2, 5:] = 0
    mel_lengths = torch.tensor([60, 40, 20])
    mels = torch.randn(3, n_mels, 60)
    return tokens, token_lengths, mels, mel_lengths


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture
def model() -> AcousticModel:
    torch.manual_seed(0)
    return AcousticModel(ModelConfig.tiny(), N_SYMBOLS)


def randomise_output(net: EnergyNetwork) -> None:
    """The quadratic head starts at f = mu; give it a non-trivial f for the tests."""
    torch.nn.init.normal_(net.out.weight, std=0.3)
    torch.nn.init.normal_(net.out.bias, std=0.3)


# --- encoder / shapes ---------------------------------------------------------------------

def test_encoder_shapes_and_padding(model):
    tokens, token_lengths, _, _ = batch()
    mu, logw, mask, _ = model.encoder(tokens, token_lengths)
    assert mu.shape == (3, 80, 12) and logw.shape == (3, 1, 12) and mask.shape == (3, 1, 12)
    assert torch.equal(mask.sum((1, 2)), token_lengths.float())
    assert (mu[2, :, 5:] == 0).all() and (logw[2, :, 5:] == 0).all()
    # Padding tokens do not leak into valid positions.
    tokens2 = tokens.clone()
    tokens2[2, 5:] = 7
    model.eval()
    mu2, logw2, _, _ = model.encoder(tokens2, token_lengths)
    assert torch.allclose(mu[2, :, :5], mu2[2, :, :5], atol=1e-5)
    assert torch.allclose(logw[2, :, :5], logw2[2, :, :5], atol=1e-5)


# --- energy --------------------------------------------------------------------------------

@pytest.mark.parametrize("head", ["quadratic", "scalar"])
def test_energy_ignores_padded_frames(head):
    torch.manual_seed(1)
    net = energy_network(ModelConfig.tiny(energy_head=head))
    randomise_output(net)
    x, mu = torch.randn(2, 80, 30), torch.randn(2, 80, 30)
    mask = sequence_mask(torch.tensor([30, 17]), 30).unsqueeze(1).float()

    def energy_and_grad(x):
        x = x.clone().requires_grad_(True)
        e = net(x, mu_in, mask)
        (g,) = torch.autograd.grad(e.sum(), x)
        return e, g

    mu_in = mu
    e1, g1 = energy_and_grad(x)
    x2, mu_in = x.clone(), mu.clone()
    x2[1, :, 17:] = 100 * torch.randn(80, 13)
    mu_in[1, :, 17:] = -50.0
    e2, g2 = energy_and_grad(x2)
    assert e1.shape == (2,)
    assert torch.allclose(e1, e2, rtol=1e-5, atol=1e-4)
    assert torch.allclose(g1, g2, atol=1e-5)
    assert (g2[1, :, 17:] == 0).all()


@pytest.mark.parametrize("head", ["quadratic", "scalar"])
def test_energy_is_a_sum_over_valid_frames(head):
    torch.manual_seed(2)
    net = energy_network(ModelConfig.tiny(energy_head=head))
    randomise_output(net)
    n = 21
    x, mu = torch.randn(1, 80, n), torch.randn(1, 80, n)
    # The same utterance in a batch padded to 21 frames and in one padded to 40 frames.
    pad = torch.zeros(1, 80, 19)
    xb = torch.cat([torch.cat([x, pad], -1), torch.randn(1, 80, 40)])
    mub = torch.cat([torch.cat([mu, pad], -1), torch.randn(1, 80, 40)])
    maskb = sequence_mask(torch.tensor([n, 40]), 40).unsqueeze(1).float()
    e_short = net(x, mu, torch.ones(1, 1, n))
    e_long = net(xb, mub, maskb)
    assert torch.allclose(e_short[0], e_long[0], rtol=1e-5)
    # Summed over valid frames of the per-frame head output, not averaged.
    out = net.features(xb, mub, maskb)
    per_frame = 0.5 * ((xb - out) ** 2).sum(1, keepdim=True) if head == "quadratic" else out
    assert torch.allclose(e_long, (per_frame * maskb).sum((1, 2)), rtol=1e-5)


def test_quadratic_gradient_is_residual_times_i_minus_jacobian():
    torch.manual_seed(3)
    cfg = ModelConfig.tiny(n_mels=3, frame_channels=8, frame_filter_channels=8)
    net = energy_network(cfg).double()
    randomise_output(net)
    x, mu = torch.randn(1, 3, 5, dtype=torch.float64), torch.randn(1, 3, 5, dtype=torch.float64)
    mask = torch.tensor([[[1.0, 1, 1, 1, 0]]], dtype=torch.float64)

    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(leaf, mu, mask).sum(), leaf)

    def f(flat):
        return net.features(flat.view(1, 3, 5), mu, mask).reshape(-1)

    jac = torch.autograd.functional.jacobian(f, x.reshape(-1))  # (15, 15)
    residual = ((x - net.features(x, mu, mask)) * mask).reshape(-1)
    expected = (torch.eye(15, dtype=torch.float64) - jac).T @ residual
    expected = expected.view(1, 3, 5) * mask
    assert jac.abs().sum() > 0  # f really depends on x
    assert torch.allclose(grad, expected, atol=1e-10)


def test_quadratic_head_starts_at_prior_energy():
    net = energy_network(ModelConfig.tiny())
    x, mu = torch.randn(2, 80, 10), torch.randn(2, 80, 10)
    mask = torch.ones(2, 1, 10)
    assert torch.allclose(net(x, mu, mask), 0.5 * ((x - mu) ** 2).sum((1, 2)), rtol=1e-5)


# --- alignment -----------------------------------------------------------------------------

def test_mas_recovers_known_durations_and_is_monotonic():
    torch.manual_seed(4)
    durations = torch.tensor([[3, 1, 4, 2, 5], [2, 2, 6, 0, 0]])
    token_lengths, mel_lengths = torch.tensor([5, 3]), durations.sum(1)
    mu_ph = 5 * torch.randn(2, 80, 5)
    path = path_from_durations(durations, 15)
    y = torch.matmul(mu_ph, path) + 0.1 * torch.randn(2, 80, 15)
    token_mask = sequence_mask(token_lengths, 5).unsqueeze(1).float()
    frame_mask = sequence_mask(mel_lengths, 15).unsqueeze(1).float()

    found = monotonic_alignment(mu_ph, y, token_mask, frame_mask)
    assert torch.equal(found.sum(-1).long(), durations)
    # Random means: still one token per valid frame, monotonic, every token >= 1 frame.
    found = monotonic_alignment(torch.randn(2, 80, 5), y, token_mask, frame_mask)
    assert torch.equal(found.sum(-1).sum(-1).long(), mel_lengths)
    assert torch.equal(found.sum(1), frame_mask.squeeze(1))
    for b in range(2):
        tokens_of_frames = found[b, :, : mel_lengths[b]].argmax(0)
        assert (tokens_of_frames.diff() >= 0).all() and (tokens_of_frames.diff() <= 1).all()
        assert (found[b, : token_lengths[b]].sum(-1) >= 1).all()


def test_mas_rejects_more_tokens_than_frames():
    token_mask = torch.ones(1, 1, 6)
    frame_mask = torch.ones(1, 1, 4)
    with pytest.raises(ValueError, match="fewer mel frames than tokens"):
        monotonic_alignment(torch.randn(1, 80, 6), torch.randn(1, 80, 4), token_mask, frame_mask)


# --- training losses -----------------------------------------------------------------------

def test_training_step_losses_backprop_reaches_encoder_and_energy(model):
    tokens, token_lengths, mels, mel_lengths = batch()
    randomise_output(model.field.network)  # zero-initialised, it would block inner grads at step 0
    loss, logs = model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                            dsm_criterion)
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert {"loss", "criterion", "prior", "duration", "criterion/dsm"} <= set(logs)
    cfg = model.config
    expected = logs["criterion"] + cfg.prior_weight * (logs["prior"] + logs["prior_frames"]) \
        + cfg.duration_weight * logs["duration"]
    assert torch.allclose(loss.detach(), expected)
    loss.backward()
    for name in ("encoder.embedding.weight", "encoder.proj_mu.weight",
                 "encoder.duration.proj.weight", "field.network.inp.weight",
                 "field.network.out.weight", "field.network.blocks.0.conv1.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("grad_to_encoder", [False, True])
def test_criterion_gradient_reaches_encoder_only_when_asked(model, grad_to_encoder):
    tokens, token_lengths, mels, mel_lengths = batch()
    model.config.prior_weight = 0.0
    model.config.duration_weight = 0.0
    model.config.criterion_grad_to_encoder = grad_to_encoder
    randomise_output(model.field.network)
    loss, _ = model.training_step_losses(tokens, token_lengths, mels, mel_lengths, dsm_criterion)
    loss.backward()
    reached = model.encoder.proj_mu.weight.grad is not None and \
        model.encoder.proj_mu.weight.grad.abs().sum() > 0
    assert reached == grad_to_encoder  # through mu into the energy, or detached
    assert model.field.network.inp.weight.grad.abs().sum() > 0


def test_duration_loss_does_not_reach_the_encoder(model):
    tokens, token_lengths, mels, mel_lengths = batch()
    model.config.prior_weight = 0.0

    def zero(*args, **kwargs):
        return torch.zeros(()), {}

    loss, _ = model.training_step_losses(tokens, token_lengths, mels, mel_lengths, zero)
    loss.backward()
    assert model.encoder.duration.proj.weight.grad.abs().sum() > 0
    assert model.encoder.proj_mu.weight.grad is None or \
        model.encoder.proj_mu.weight.grad.abs().sum() == 0
    assert model.encoder.embedding.weight.grad is None or \
        model.encoder.embedding.weight.grad.abs().sum() == 0


def test_segments_are_windows_of_the_target(model):
    tokens, token_lengths, mels, mel_lengths = batch()
    seen = {}

    def capture(energy_fn, x, mu, mask, negatives=None):
        seen.update(x=x, mu=mu, mask=mask, negatives=negatives)
        return energy_fn(x, mu, mask).mean() * 0, {}

    negatives = (mels + 1.0).unsqueeze(1).repeat(1, 2, 1, 1)
    torch.manual_seed(5)
    model.training_step_losses(tokens, token_lengths, mels, mel_lengths, capture,
                               negatives=negatives)
    s = model.config.segment_frames
    assert seen["x"].shape == (3, 80, s) and seen["mask"].shape == (3, 1, s)
    assert seen["negatives"].shape == (3, 2, 80, s)
    # Item 2 (20 frames) is shorter than the segment: padded and masked.
    assert seen["mask"].sum((1, 2)).tolist() == [s, s, 20]
    assert torch.equal(seen["x"][2, :, :20], mels[2, :, :20])
    assert (seen["x"][2, :, 20:] == 0).all() and (seen["negatives"][2, :, :, 20:] == 0).all()
    for b in range(2):  # a contiguous window at some offset, the same one for negatives
        offsets = [o for o in range(int(mel_lengths[b]) - s + 1)
                   if torch.equal(mels[b, :, o:o + s], seen["x"][b])]
        assert len(offsets) == 1
        assert torch.allclose(seen["negatives"][b, 1], seen["x"][b] + 1.0)
    assert not seen["mu"].requires_grad  # default: the energy sees mu detached

    with pytest.raises(ValueError, match="negatives"):
        model.training_step_losses(tokens, token_lengths, mels, mel_lengths, capture,
                                   negatives=negatives[..., :50])


def test_seeded_training_step_is_reproducible(model):
    tokens, token_lengths, mels, mel_lengths = batch()
    losses = []
    for _ in range(2):
        torch.manual_seed(6)
        losses.append(model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                                 dsm_criterion)[0].item())
    assert losses[0] == losses[1]


# --- generation ----------------------------------------------------------------------------

def test_generate_with_gd_sampler(model):
    tokens, token_lengths, _, _ = batch()
    model.eval()
    with torch.no_grad():  # generate must still get gradients w.r.t. x for the sampler
        out = model.generate(tokens, token_lengths, GDSampler(3),
                             generator=torch.Generator().manual_seed(0))
    lengths = out.durations.sum(1)
    assert out.mel.shape == (3, 80, int(lengths.max())) and out.mu.shape == out.mel.shape
    assert torch.isfinite(out.mel).all()
    assert torch.equal(out.mask.sum((1, 2)).long(), lengths)
    assert (out.durations[2, 5:] == 0).all() and (out.durations[2, :5] >= 1).all()
    assert not out.mel.requires_grad and out.trace == {"steps": 3}
    assert all(p.grad is None for p in model.parameters())


def test_length_scale_scales_durations(model):
    tokens, token_lengths, _, _ = batch()
    model.eval()
    with torch.no_grad():
        logw = model.encoder(tokens, token_lengths)[1].squeeze(1)
    totals = []
    for scale in (0.5, 1.0, 3.0):
        out = model.generate(tokens, token_lengths, GDSampler(1), length_scale=scale)
        expected = torch.ceil(torch.exp(logw) * scale).clamp(min=1).long()
        expected = expected * sequence_mask(token_lengths, 12)
        assert torch.equal(out.durations, expected)
        totals.append(out.mel.shape[-1])
    assert totals[0] <= totals[1] < totals[2]
    with pytest.raises(UserInputError, match="length_scale"):
        model.generate(tokens, token_lengths, GDSampler(1), length_scale=0.0)


def test_diverged_duration_predictor_is_capped(model):
    from tts_ebm.model.acoustic import MAX_TOKEN_FRAMES

    tokens, token_lengths, _, _ = batch()
    model.eval()
    torch.nn.init.constant_(model.encoder.duration.proj.bias, 30.0)  # exp(30) frames a token
    out = model.generate(tokens, token_lengths, GDSampler(0), length_scale=1.5)
    valid = sequence_mask(token_lengths, 12)
    assert (out.durations[valid] == int(1.5 * MAX_TOKEN_FRAMES)).all()
    assert out.mel.shape[-1] == 12 * int(1.5 * MAX_TOKEN_FRAMES)


def test_with_project_criterion_and_sampler(model):
    criteria = pytest.importorskip("tts_ebm.criteria")
    samplers = pytest.importorskip("tts_ebm.samplers")
    tokens, token_lengths, mels, mel_lengths = batch()
    loss, _ = model.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                         criteria.build("delta"))
    loss.backward()
    assert torch.isfinite(loss) and model.encoder.proj_mu.weight.grad.abs().sum() > 0
    model.eval()
    out = model.generate(tokens, token_lengths, samplers.build("gd", steps=2),
                         generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out.mel).all() and out.trace.energies.shape == (3, 3)


# --- configs -------------------------------------------------------------------------------

def test_parameter_counts():
    tiny = AcousticModel(ModelConfig.tiny(), 178)
    assert 20_000 < n_params(tiny) < 200_000
    big = AcousticModel(ModelConfig.ljspeech(), 178)
    assert 18_000_000 < n_params(big) < 25_000_000


def test_config_round_trip_and_errors():
    cfg = ModelConfig.tiny(energy_head="scalar")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(UserInputError, match="unknown model config key.*energy_hed.*energy_head"):
        ModelConfig.from_dict({"energy_hed": "scalar"})
    with pytest.raises(UserInputError, match="energy_head"):
        ModelConfig.tiny(energy_head="cubic")
    with pytest.raises(UserInputError, match="divisible"):
        ModelConfig.tiny(frame_heads=3)
