"""Fields: the energy/velocity seam, the fm criterion, the euler sampler, and the fm model end to
end (config -> trainer -> checkpoint -> synthesize)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_training import make_dump
from torch import nn

from tts_ebm import Synthesizer, criteria, fields, samplers, synthesize
from tts_ebm.errors import UserInputError
from tts_ebm.fields import Field, FieldValue
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.training.checkpoint import load_for_inference
from tts_ebm.training.config import ExperimentConfig
from tts_ebm.training.train import train


class LinearVelocity(Field):
    """v(x, mu, t) = a x + b mu + c t elementwise, with learnable a, b, c."""

    def __init__(self, a: float, b: float, c: float) -> None:
        super().__init__()
        self.abc = nn.Parameter(torch.tensor([a, b, c], dtype=torch.float64))

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False) -> FieldValue:
        a, b, c = self.abc
        v = (a * x + b * mu + c * t.view(-1, 1, 1)) * mask
        return FieldValue(v if differentiable else v.detach(), torch.full((x.shape[0],), np.nan))


class PointMassVelocity(Field):
    """The exact OT velocity (sigma_min = 0) when the data given mu is the point x*(mu) = 2 mu + 1:
    on the path x_t = (1 - t) x* + t z, z - x* = (x_t - x*) / t."""

    def evaluate(self, x, mu, mask, t=None, *, differentiable=False) -> FieldValue:
        target = 2 * mu + 1
        return FieldValue((x - target) / t.view(-1, 1, 1) * mask,
                          torch.full((x.shape[0],), np.nan))


# --- fm criterion ---------------------------------------------------------------------------

def test_fm_loss_matches_a_hand_computation():
    fm = criteria.build("fm", temperature=0.5, sigma_min=0.1)
    field = LinearVelocity(2.0, -1.0, 3.0)
    one = torch.ones(1, 1, 1, dtype=torch.float64)
    loss = fm.loss_at(field, 1.0 * one, 0.5 * one, one, 0.25 * one, 2.0 * one)
    # x_t = 0.75*1 + 0.25*0.5 + (0.1 + 0.9*0.25)*0.5*2 = 1.2; u = 0.5 - 1 + 0.9*0.5*2 = 0.4
    # v = 2*1.2 - 0.5 + 3*0.25 = 2.65; loss = (2.65 - 0.4)^2
    assert loss.item() == pytest.approx(2.25**2, rel=1e-12)
    loss.backward()
    # d loss / d(a, b, c) = 2 (v - u) (x_t, mu, t)
    assert field.abc.grad.tolist() == pytest.approx([4.5 * 1.2, 4.5 * 0.5, 4.5 * 0.25])


def test_fm_loss_is_a_masked_mean_over_valid_elements():
    torch.manual_seed(0)
    fm = criteria.build("fm", temperature=0.7, sigma_min=1e-4)
    field = LinearVelocity(0.3, 0.2, -0.4)
    x, mu, eps = (torch.randn(2, 3, 5, dtype=torch.float64) for _ in range(3))
    mask = torch.ones(2, 1, 5, dtype=torch.float64)
    mask[1, :, 3:] = 0
    t = torch.tensor([0.1, 0.8], dtype=torch.float64).view(-1, 1, 1)
    loss = fm.loss_at(field, x, mu, mask, t, eps)
    s, tau = 1e-4, 0.7
    xt = (1 - t) * x + t * mu + (s + (1 - s) * t) * tau * eps
    u = mu - x + (1 - s) * tau * eps
    sq = (0.3 * xt + 0.2 * mu - 0.4 * t - u) ** 2
    expected = (sq * mask).sum() / (mask.sum() * 3)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    x2 = x.clone()
    x2[1, :, 3:] = 1e3  # padded frames change nothing
    assert fm.loss_at(field, x2, mu, mask, t, eps).item() == pytest.approx(loss.item(), rel=1e-12)


def test_fm_with_sigma_min_0_is_delta_on_a_time_free_field():
    """Same path, same target, same draws: the two criteria differ only in the field."""
    net = nn.Sequential(nn.Linear(4, 16), nn.SiLU(), nn.Linear(16, 1))

    def energy_fn(x, mu, mask):
        h = net(torch.cat([x, mu], dim=1).transpose(1, 2)).squeeze(-1)
        return (h * mask[:, 0]).sum(dim=1)

    x, mu, mask = torch.randn(3, 2, 4), torch.randn(3, 2, 4), torch.ones(3, 1, 4)
    torch.manual_seed(7)
    delta, _ = criteria.build("delta", temperature=0.5)(energy_fn, x, mu, mask)
    torch.manual_seed(7)
    fm, logs = criteria.build("fm", temperature=0.5, sigma_min=0.0)(energy_fn, x, mu, mask)
    assert fm.item() == pytest.approx(delta.item(), rel=1e-6) and set(logs) == {"fm"}


@pytest.mark.parametrize("options, message", [
    ({"sigma_min": 1.0}, "sigma_min"), ({"temperature": 0.0}, "temperature"),
    ({"time_sampling": "cosine"}, "time_sampling"),
])
def test_fm_rejects_bad_options(options, message):
    with pytest.raises(UserInputError, match=message):
        criteria.build("fm", **options)


# --- euler sampler --------------------------------------------------------------------------

@pytest.mark.parametrize("steps", range(1, 11))
def test_euler_on_the_exact_ot_velocity_lands_on_the_data_point(steps):
    mu = torch.randn(2, 3, 6, dtype=torch.float64)
    mask = torch.ones(2, 1, 6, dtype=torch.float64)
    generator = torch.Generator().manual_seed(steps)
    sampler = samplers.build("euler", steps=steps, temperature=0.8)
    x, trace = sampler.sample(PointMassVelocity(), mu, mask, generator)
    assert torch.allclose(x, 2 * mu + 1, atol=1e-12)
    assert trace.steps_taken == steps and torch.isnan(trace.energies).all()
    assert sampler.times() == [1 - k / steps for k in range(steps)]


def test_euler_on_an_energy_field_is_gradient_descent_with_step_1_over_k():
    def quadratic(x, mu, mask):
        return 0.5 * (((x - 2 * mu) * mask) ** 2).sum((1, 2))

    mu, mask = torch.randn(2, 3, 5), torch.ones(2, 1, 5)
    x0 = torch.randn(2, 3, 5)
    euler = samplers.build("euler", steps=4)(quadratic, x0, mu, mask)
    gd = samplers.build("gd", steps=4, step_size="1/K")(quadratic, x0, mu, mask)
    assert torch.allclose(euler[0], gd[0]) and torch.allclose(euler[1].energies, gd[1].energies)


def test_euler_step_sizes_are_its_time_grid_and_reranking_needs_an_energy():
    with pytest.raises(UserInputError, match="time grid"):
        samplers.build("euler", steps=4, step_size=0.1)
    mu, mask = torch.randn(1, 2, 3), torch.ones(1, 1, 3)
    with pytest.raises(UserInputError, match="no energy"):
        samplers.build("euler", steps=2, n_candidates=2).sample(PointMassVelocity(), mu, mask)


# --- the velocity field and the model ---------------------------------------------------------

def test_registries_list_the_new_pieces():
    assert fields.names() == ["energy", "timed_energy", "velocity", "x_prediction"]
    assert "fm" in criteria.names() and "euler" in samplers.names()
    assert not criteria.build("fm").needs_energy and criteria.build("dsm").needs_energy
    with pytest.raises(UserInputError, match="energy, timed_energy, velocity, x_prediction"):
        AcousticModel(ModelConfig.tiny(field="flow"), 40)


def test_velocity_field_is_time_conditional_masked_and_has_no_energy():
    torch.manual_seed(0)
    field = fields.build("velocity", ModelConfig.tiny(n_mels=4).frame_network())
    nn.init.normal_(field.network.out.weight, std=0.1)  # zero-initialised: v = 0 at the start
    x, mu = torch.randn(2, 4, 7), torch.randn(2, 4, 7)
    mask = torch.ones(2, 1, 7)
    mask[1, :, 5:] = 0
    v = field.evaluate(x, mu, mask, torch.tensor([0.2, 0.2])).vector
    assert v.shape == x.shape and (v[1, :, 5:] == 0).all() and not v.requires_grad
    v_later = field.evaluate(x, mu, mask, torch.tensor([0.9, 0.9])).vector
    assert not torch.allclose(v, v_later)  # it sees t
    x2 = x.clone()
    x2[1, :, 5:] = 100.0
    assert torch.allclose(field.evaluate(x2, mu, mask, torch.tensor([0.2, 0.2])).vector, v,
                          atol=1e-6)
    with pytest.raises(UserInputError, match="no energy"):
        field(x, mu, mask)


@pytest.mark.parametrize("steps", [1, 2, 4, 10, 20])
def test_x_prediction_field_starts_at_mu_for_every_k(steps):
    """Zero-initialised, x_hat = mu: K Euler steps from mu + tau*eps land exactly on mu (the
    quadratic energy's starting point), where the plain velocity field keeps all the noise."""
    torch.manual_seed(0)
    frame = ModelConfig.tiny(n_mels=4).frame_network()
    mu, mask = torch.randn(2, 4, 9, dtype=torch.float64), torch.ones(2, 1, 9, dtype=torch.float64)
    euler = samplers.build("euler", steps=steps, temperature=0.8)
    x, _ = euler.sample(fields.build("x_prediction", frame).double(), mu, mask,
                        torch.Generator().manual_seed(1))
    torch.testing.assert_close(x, mu, atol=1e-12, rtol=0)
    x_plain, _ = euler.sample(fields.build("velocity", frame).double(), mu, mask,
                              torch.Generator().manual_seed(1))
    assert (x_plain - mu).std() == pytest.approx(0.8, rel=0.2)


def test_x_prediction_field_is_x_minus_its_prediction_over_clamped_t():
    torch.manual_seed(0)
    field = fields.build("x_prediction", ModelConfig.tiny(n_mels=4).frame_network()).double()
    nn.init.normal_(field.network.out.weight, std=0.1)
    x, mu = torch.randn(3, 4, 6, dtype=torch.float64), torch.randn(3, 4, 6, dtype=torch.float64)
    mask = torch.ones(3, 1, 6, dtype=torch.float64)
    mask[2, :, 4:] = 0
    t = torch.tensor([0.5, 0.01, 1.0], dtype=torch.float64)
    f = field.network.frames(x, mu, mask, t)
    expected = (x - mu - f) / torch.tensor([0.5, 0.05, 1.0], dtype=torch.float64).view(-1, 1, 1)
    torch.testing.assert_close(field.evaluate(x, mu, mask, t).vector, expected * mask)
    assert field.T_MIN == 0.05 and not field.has_energy
    assert sum(p.numel() for p in field.parameters()) == sum(
        p.numel() for p in fields.build("velocity", ModelConfig.tiny(n_mels=4).frame_network())
        .parameters())


def test_timed_energy_field_is_the_gradient_of_a_time_conditioned_energy():
    torch.manual_seed(0)
    field = fields.build("timed_energy", ModelConfig.tiny(n_mels=4).frame_network())
    nn.init.normal_(field.network.out.weight, std=0.1)
    x, mu, mask = torch.randn(2, 4, 6), torch.randn(2, 4, 6), torch.ones(2, 1, 6)
    t = torch.tensor([0.3, 0.7])
    value = field.evaluate(x, mu, mask, t)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(field.network(leaf, mu, mask, t).sum(), leaf)
    assert torch.allclose(value.vector, grad) and field.has_energy
    assert not torch.allclose(value.vector, field.evaluate(x, mu, mask, 1 - t).vector)
    assert torch.allclose(field(x, mu, mask), field.evaluate(x, mu, mask, t * 0).energy)
    _, trace = samplers.build("euler", steps=3, n_candidates=2).sample(field, mu, mask)
    assert torch.isfinite(trace.energies).all()


@pytest.mark.parametrize(("field", "criterion", "options"), [
    ("velocity", "fm", {}),
    ("x_prediction", "fm", {}),
    ("timed_energy", "dsm", {"noise_conditional": True, "sigma_min": 0.05}),
])
def test_a_tiny_time_conditional_model_learns(field, criterion, options):
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(field=field, segment_frames=16), 40)
    tokens = torch.randint(1, 40, (4, 8))
    token_lengths = torch.tensor([8, 8, 6, 5])
    mel_lengths = token_lengths * 3
    mels = torch.randn(4, 80, 24).cumsum(-1) * 0.3  # smooth, learnable
    crit = criteria.build(criterion, **options)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        torch.manual_seed(1)  # same draws every step: the loss must fall, not fluctuate
        loss, logs = model.training_step_losses(tokens, token_lengths, mels, mel_lengths, crit)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(logs["criterion"].item())
    assert losses[-1] < 0.5 * losses[0], losses
    assert model.field.network.time.mlp[0].weight.grad.abs().sum() > 0


def test_energy_only_criteria_refuse_a_velocity_model(tmp_path):
    dump = make_dump(tmp_path / "dump", n_train=8, n_val=2)
    with pytest.raises(UserInputError, match="criterion 'dsm' trains an energy.*delta, fm"):
        train(fm_config(dump, criterion="dsm"), tmp_path / "out", progress=False)


def test_old_energy_checkpoints_load_into_the_field():
    torch.manual_seed(0)
    model = AcousticModel(ModelConfig.tiny(), 40)
    state = {k.replace("field.network.", "energy_net."): v for k, v in model.state_dict().items()}
    fresh = AcousticModel(ModelConfig.tiny(), 40)
    fresh.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                fresh.state_dict().values()))


# --- end to end: train, checkpoint, synthesize ------------------------------------------------

def fm_config(dump: Path, criterion: str = "fm", max_steps: int = 6) -> ExperimentConfig:
    options = {"temperature": 0.5} if criterion == "fm" else {}
    return ExperimentConfig.from_dict({
        "data": {"dump_dir": str(dump), "batch_size": 8, "bucket_batches": 2, "val_synth": 1},
        "model": {"preset": "tiny", "field": "velocity"},
        "criterion": {"name": criterion, "options": options},
        "sampler": {"name": "euler", "options": {"steps": 3, "temperature": 0.5}},
        "optim": {"lr": 3e-3, "warmup": 2},
        "trainer": {"max_steps": max_steps, "val_every": 3, "ckpt_every": 1000, "log_every": 2},
        "ema": {"decay": 0.5},
    })


@pytest.fixture(scope="module")
def fm_checkpoint(tmp_path_factory) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    dump = make_dump(tmp_path_factory.mktemp("dump"), n_train=8, n_val=2)
    out = tmp_path_factory.mktemp("fm")
    train(fm_config(dump), out, progress=False)
    torch.set_num_threads(threads)
    return out / "checkpoints" / "last.ckpt"


def test_fm_checkpoint_records_the_field_and_synthesizes_seeded(fm_checkpoint, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bundle = load_for_inference(fm_checkpoint)
    assert bundle.config.model["field"] == "velocity"
    assert isinstance(bundle.model.field, fields.VelocityField)
    synth = Synthesizer(fm_checkpoint, vocoder="griffin-lim", device="cpu")
    sampler = synth.build_sampler(steps=5)
    assert type(sampler).__name__ == "Euler" and sampler.steps == 5
    a = synth.synthesize("hello world.", steps=2, seed=3)
    b = synth.synthesize("hello world.", steps=2, seed=3)
    c = synth.synthesize("hello world.", steps=2, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c) and np.isfinite(a).all()
    wav, rate = synthesize("hello world.", fm_checkpoint, vocoder="griffin-lim", steps=1, seed=0)
    assert rate == 22050 and wav.dtype == np.float32 and len(wav) > 0


def test_cli_synthesize_with_an_fm_checkpoint(fm_checkpoint, tmp_path, monkeypatch):
    from tts_ebm.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "a.wav"
    assert main(["synthesize", "--checkpoint", str(fm_checkpoint), "--steps", "4",
                 "--vocoder", "griffin-lim", "--text", "hello world.", "--out", str(out)]) == 0
    assert out.stat().st_size > 44


@pytest.mark.parametrize("corpus", ["mini", "ljspeech"])
def test_fm_configs_mirror_delta_at_equal_size(corpus):
    """The peer differs from delta only in field, criterion and sampler; sizes within 10 %."""
    from tts_ebm.text import SymbolTable
    from tts_ebm.training.config import load_config

    conf = Path(__file__).resolve().parents[1] / "egs" / corpus / "conf"
    delta, fm = load_config(conf / "delta.yaml"), load_config(conf / "fm.yaml")
    assert {k: v for k, v in fm.model.items() if k != "field"} == \
        {k: v for k, v in delta.model.items() if k != "field"}
    assert (fm.model["field"], fm.criterion.name, fm.sampler.name) == ("velocity", "fm", "euler")
    tau = delta.criterion.options["temperature"]
    assert fm.criterion.options["temperature"] == fm.sampler.options["temperature"] == tau
    assert fm.criterion.options["sigma_min"] == 1e-4
    assert (fm.data, fm.optim, fm.trainer, fm.ema) == (delta.data, delta.optim, delta.trainer,
                                                       delta.ema)
    n = len(SymbolTable.default())
    sizes = [sum(p.numel() for p in AcousticModel(ModelConfig.from_dict(c.model), n).parameters())
             for c in (delta, fm)]
    assert abs(sizes[1] / sizes[0] - 1) < 0.10


def test_the_peers_in_their_best_forms_differ_from_their_plain_forms_only_where_stated():
    """fm_xpred is fm with the x-prediction field; dsm_nc is dsm told the noise level, with its
    sampler starting from sigma_max; sizes equal (fm) or within 1 % (dsm)."""
    from tts_ebm.text import SymbolTable
    from tts_ebm.training.config import load_config

    conf = Path(__file__).resolve().parents[1] / "egs" / "mini" / "conf"
    n = len(SymbolTable.default())

    def size(config) -> int:
        return sum(p.numel() for p in
                   AcousticModel(ModelConfig.from_dict(config.model), n).parameters())

    fm, fm_x = load_config(conf / "fm.yaml"), load_config(conf / "fm_xpred.yaml")
    assert fm_x.model == {**fm.model, "field": "x_prediction"}
    assert (fm_x.criterion, fm_x.sampler, fm_x.optim, fm_x.trainer) == (
        fm.criterion, fm.sampler, fm.optim, fm.trainer)
    assert size(fm_x) == size(fm)
    dsm, dsm_nc = load_config(conf / "dsm.yaml"), load_config(conf / "dsm_nc.yaml")
    assert dsm_nc.model == {**dsm.model, "field": "timed_energy"}
    assert dsm_nc.criterion.options["noise_conditional"] is True
    assert dsm_nc.sampler.name == "ve_euler"
    assert dsm_nc.sampler.options["temperature"] == dsm_nc.criterion.options["sigma_max"]
    assert (dsm_nc.optim, dsm_nc.trainer) == (dsm.optim, dsm.trainer)
    assert abs(size(dsm_nc) / size(dsm) - 1) < 0.01
