"""More pinned training behaviour (issue 14, training-group survivors), all without a Trainer.

Pins, by calling EBMTrainingModule's hooks directly with a fake trainer/logger:
- non-finite steps: a zero (not NaN, not the real) loss for a bad micro-batch, NaN gradients
  detected, skips counted cumulatively and decided with `any` over ranks, the grad norm logged;
- what training/validation log (names, values, batch sizes, sync_dist, the progress bar), the
  SUMMARY_WINDOW of the final losses, and the negatives passed to the model;
- validation's fixed seeds (global seed + batch_idx, generator seeded with the seed), when it
  synthesises, the per-frame energies it logs, and the mel images / audio / MCD of synthesis;
- resume: the queued CUDA RNG restored only where CUDA exists; `_rng_devices` per device;
- checkpoint reading: weights_only forced, error messages, and `load_for_inference`.
"""

from __future__ import annotations

import datetime
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger

import tts_ebm.training.module as module_mod
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.mel_metrics import log_mel_mcd
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import load_for_inference, make_payload, read_checkpoint
from tts_ebm.training.config import ExperimentConfig
from tts_ebm.training.module import SUMMARY_WINDOW, EBMTrainingModule

SEED = 1234


def make_module(mean=None, std=None) -> EBMTrainingModule:
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny"},
        "criterion": {"name": "delta"},
        "sampler": {"name": "gd", "options": {"steps": 1}},
        "trainer": {"seed": SEED, "max_steps": 5},
        "data": {"val_synth": 2},
    })
    mean = np.zeros(80) if mean is None else mean
    std = np.ones(80) if std is None else std
    return EBMTrainingModule(config, SymbolTable.default(), mean, std)


class Logs:
    """Records self.log / self.log_dict calls as {name: (value, kwargs)}."""

    def __init__(self, module: EBMTrainingModule) -> None:
        self.calls: dict[str, tuple] = {}
        module.log = self.log
        module.log_dict = self.log_dict

    def log(self, name, value, **kwargs):
        self.calls[name] = (value, kwargs)

    def log_dict(self, values, **kwargs):
        for name, value in values.items():
            self.calls[name] = (value, kwargs)


class Strategy:
    """Emulates Lightning's ParallelStrategy.reduce_boolean_decision with one other rank."""

    def __init__(self, other_rank_bad: bool = False) -> None:
        self.other = other_rank_bad

    def reduce_boolean_decision(self, decision: bool, all: bool = True) -> bool:
        return (decision and self.other) if all else (decision or self.other)


def attach(module, **fields):
    trainer = types.SimpleNamespace(is_global_zero=True, strategy=Strategy(), logger=None,
                                    global_step=7)
    trainer.__dict__.update(fields)
    module._trainer = trainer
    return trainer


def batch(n: int = 3) -> dict:
    return {"ids": [f"u{i}" for i in range(n)], "tokens": torch.ones(n, 4, dtype=torch.long),
            "token_lengths": torch.full((n,), 4), "mels": torch.zeros(n, 80, 6),
            "mel_lengths": torch.full((n,), 6)}


# ---------------------------------------------------------------- training_step
def test_training_step_passes_negatives_and_logs_with_batch_size():
    """Catches negatives dropped/misread, batch_size not passed, loss not on the progress bar."""
    module = make_module()
    logs = Logs(module)
    seen = {}

    def losses(*args, negatives=None, log_f0=None):
        seen["negatives"] = negatives
        return torch.tensor(2.0), {"loss": torch.tensor(2.0), "prior": torch.tensor(0.5)}

    module.model.training_step_losses = losses
    negatives = torch.randn(3, 2, 80, 6)
    out = module.training_step({**batch(), "negatives": negatives}, 0)
    assert seen["negatives"] is negatives
    assert float(out) == 2.0
    assert logs.calls["train/loss"][1] == {"batch_size": 3, "prog_bar": True}
    assert logs.calls["train/prior"][1] == {"batch_size": 3}
    assert "train/train/loss" not in logs.calls and set(logs.calls) == {"train/loss", "train/prior"}


def test_non_finite_loss_returns_an_exact_zero_loss_with_zero_gradients():
    """Catches `* 0.0` turned into `/ 0.0` (inf/NaN loss) or `* 1.0` (a real, non-zero loss)."""
    module = make_module()
    Logs(module)
    module.model.training_step_losses = lambda *a, **k: (torch.tensor(float("nan")), {})
    out = module.training_step(batch(), 0)
    assert module._bad_loss
    assert out.requires_grad and float(out.detach()) == 0.0
    out.backward()
    grads = [p.grad for p in module.model.parameters() if p.requires_grad]
    assert grads and all(g is not None and not g.any() for g in grads)


def test_final_losses_average_the_last_summary_window_steps():
    """Catches the recent-losses deque losing its maxlen (final losses over every step)."""
    module = make_module()
    Logs(module)
    values = iter(range(SUMMARY_WINDOW + 10))

    def losses(*args, **kwargs):
        v = torch.tensor(float(next(values)))
        return v, {"loss": v}

    module.model.training_step_losses = losses
    for _ in range(SUMMARY_WINDOW + 10):
        module.training_step(batch(), 0)
    assert module.final_losses() == {"loss": pytest.approx(np.mean(range(10, SUMMARY_WINDOW + 10)))}


# ---------------------------------------------------------------- on_before_optimizer_step
def grads_of(module, fill):
    for i, p in enumerate(module.model.parameters()):
        p.grad = torch.full_like(p, fill(i))


def test_finite_step_logs_its_grad_norm_and_keeps_the_grads():
    """Catches grads collected wrongly (norm 0), wrong log names for grad_norm/nonfinite_steps."""
    module = make_module()
    logs = Logs(module)
    attach(module)
    optimizer = torch.optim.AdamW(module.model.parameters())
    grads_of(module, lambda i: 0.01 * (i % 3 + 1))
    expected = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in module.model.parameters()))
    module.on_before_optimizer_step(optimizer)
    assert not module._skipped
    assert float(logs.calls["train/grad_norm"][0]) == pytest.approx(float(expected), rel=1e-5)
    assert logs.calls["train/nonfinite_steps"][0] == 0.0
    assert all(p.grad is not None for p in module.model.parameters())


def test_nan_gradients_skip_the_step_and_count_cumulatively():
    """Catches NaN grads not detected (grads list None / `is None` / norm forced to 0) and the
    skip counter set to 1 instead of incremented."""
    module = make_module()
    logs = Logs(module)
    attach(module)
    optimizer = torch.optim.AdamW(module.model.parameters())
    for expected in (1.0, 2.0):
        grads_of(module, lambda i: float("nan") if i == 3 else 0.1)
        module.on_before_optimizer_step(optimizer)
        assert module._skipped
        assert all(p.grad is None for p in module.model.parameters())
        assert logs.calls["train/nonfinite_steps"][0] == expected
    assert "train/grad_norm" not in logs.calls


def test_no_gradients_at_all_is_a_finite_zero_norm_step():
    """Catches `torch.zeros(None)` for the empty-grads norm."""
    module = make_module()
    logs = Logs(module)
    attach(module)
    module.on_before_optimizer_step(torch.optim.AdamW(module.model.parameters()))
    assert not module._skipped
    assert float(logs.calls["train/grad_norm"][0]) == 0.0


def test_a_bad_step_on_another_rank_skips_this_rank_too():
    """Catches the rank decision reduced with `all` (default/True) instead of `any`: ranks
    would then disagree and the replicas drift apart."""
    module = make_module()
    Logs(module)
    attach(module, strategy=Strategy(other_rank_bad=True))
    grads_of(module, lambda i: 0.1)
    module.on_before_optimizer_step(torch.optim.AdamW(module.model.parameters()))
    assert module._skipped and module.nonfinite_steps == 1


# ---------------------------------------------------------------- resume RNG / devices
def test_resume_restores_cuda_rng_only_where_cuda_exists(monkeypatch):
    """Catches the queued CUDA RNG state misread (wrong key, None) or restored without CUDA."""
    module = make_module()
    restored = []
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    cuda_state = [torch.zeros(3, dtype=torch.uint8)]
    for available, expected in ((False, []), (True, [cuda_state])):
        monkeypatch.setattr(torch.cuda, "is_available", lambda a=available: a)
        module._pending_rng = {"torch": torch.get_rng_state(), "cuda": cuda_state}
        module.on_train_batch_start(batch(), 0)
        assert restored == expected and module._pending_rng is None


@pytest.mark.parametrize(("device", "expected"), [
    (torch.device("cpu"), []), (torch.device("cuda", 0), [0]), (torch.device("cuda", 2), [2]),
])
def test_rng_devices_forks_the_modules_own_cuda_device(device, expected):
    """Catches validation forking no CUDA RNG (or the wrong device's) on a GPU."""
    module = make_module()
    module._device = device
    assert module._rng_devices() == expected


# ---------------------------------------------------------------- validation_step
def test_validation_seeds_logs_and_passes_the_generator():
    """Catches the global seed seed - batch_idx, no/unseeded generator handed to energies and
    synthesis, val logs without batch_size or sync_dist."""
    module = make_module()
    logs = Logs(module)
    attach(module)
    seen = {}

    def losses(*args, **kwargs):
        seen["seed"] = torch.initial_seed()
        return torch.tensor(1.0), {"loss": torch.tensor(1.0)}

    module.ema.module.training_step_losses = losses
    module._log_energies = lambda model, b, generator: seen.update(energy_gen=generator)
    module._log_synthesis = lambda model, b, generator: seen.update(synth_gen=generator)
    assert module.ema.module.field.has_energy
    before = torch.get_rng_state()
    module.validation_step(batch(), 0)
    assert seen["seed"] == SEED
    for key in ("energy_gen", "synth_gen"):
        assert isinstance(seen[key], torch.Generator) and seen[key].initial_seed() == SEED
    assert logs.calls["val/loss"][1] == {"batch_size": 3, "sync_dist": True}
    seen.clear()
    module.validation_step(batch(), 3)
    assert seen["seed"] == SEED + 3 and "synth_gen" not in seen
    assert torch.equal(torch.get_rng_state(), before)  # forked: training noise unshifted


@pytest.mark.parametrize(("batch_idx", "global_zero", "val_synth", "synthesises"), [
    (0, True, 2, True), (1, True, 2, False), (0, False, 2, False), (0, True, 0, False),
])
def test_validation_synthesises_only_batch_0_on_rank_0_when_asked(
        batch_idx, global_zero, val_synth, synthesises):
    """Catches the and/or and batch_idx == 0 mutants of the synthesis condition."""
    module = make_module()
    Logs(module)
    attach(module, is_global_zero=global_zero)
    module.config.data.val_synth = val_synth
    module.ema.module.training_step_losses = lambda *a, **k: (torch.tensor(1.0), {})
    module._log_energies = lambda *a: None
    called = []
    module._log_synthesis = lambda *a: called.append(True)
    module.validation_step(batch(), batch_idx)
    assert bool(called) == synthesises


# ---------------------------------------------------------------- _log_energies
def test_log_energies_are_per_frame_means_of_data_and_the_final_sample():
    """Catches wrong mask width, frames summed over the batch, `*` for `/`, mels / mask, the
    wrong trace entry, the gap's sign, no generator, and missing batch_size/sync_dist."""
    module = make_module()
    logs = Logs(module)
    lengths = torch.tensor([3, 1])
    mels = torch.full((2, 2, 5), 7.0)  # padding (7) must not reach the energies
    mels[0, :, :3] = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 1.0]])
    mels[1, :, :1] = torch.tensor([[4.0], [2.0]])
    mu_ph = torch.tensor([[[1.0], [0.0]], [[2.0], [2.0]]])  # one token each

    def energy(x, mu, mask):
        return (((x - mu) ** 2) * mask).sum(dim=(1, 2))

    def align(tokens, token_lengths, mels_, mel_lengths, log_f0=None):
        mask = (torch.arange(mels_.shape[-1])[None] < mel_lengths[:, None]).float().unsqueeze(1)
        return types.SimpleNamespace(mu=mu_ph.expand(-1, -1, mels_.shape[-1]) * mask, mask=mask)

    model = types.SimpleNamespace(align=align, energy=energy)
    generator = torch.Generator().manual_seed(0)
    seen = {}

    def sample(fn, mu, mask, generator=None):
        seen["generator"] = generator
        energies = [torch.tensor([100.0, 100.0]), torch.tensor([30.0, 30.0]),
                    torch.tensor([9.0, 4.0])]
        return None, types.SimpleNamespace(energies=energies)

    module.sampler = types.SimpleNamespace(sample=sample)
    b = {"ids": ["a", "b"], "tokens": None, "token_lengths": None, "mels": mels,
         "mel_lengths": lengths}
    module._log_energies(model, b, generator)
    # data: sum of squared deviations from the token mean over valid frames / frames
    data = [((0 + 1 + 4) + (0 + 1 + 1)) / 3, ((4 - 2) ** 2 + 0) / 1]
    sample_e = [9.0 / 3, 4.0 / 1]
    assert seen["generator"] is generator
    expected = {"val/energy_data": np.mean(data), "val/energy_sample": np.mean(sample_e),
                "val/energy_gap": np.mean(np.subtract(sample_e, data))}
    for name, value in expected.items():
        assert float(logs.calls[name][0]) == pytest.approx(value, rel=1e-6), name
        assert logs.calls[name][1] == {"batch_size": 2, "sync_dist": True}, name


# ---------------------------------------------------------------- _log_synthesis
class Experiment:
    def __init__(self) -> None:
        self.figures, self.audio = [], []

    def add_figure(self, *args):
        self.figures.append(args)

    def add_audio(self, *args):
        self.audio.append(args)


class FakeTB(TensorBoardLogger):
    def __init__(self, experiment) -> None:  # no SummaryWriter, no files
        self._fake = experiment

    @property
    def experiment(self):
        return self._fake


def synthesis_setup(monkeypatch, logger):
    mean, std = np.linspace(-6, -2, 80), np.linspace(0.5, 2.0, 80)
    module = make_module(mean, std)
    logs = Logs(module)
    attach(module, logger=logger)
    rng = np.random.default_rng(0)
    mels = torch.from_numpy(rng.normal(size=(3, 80, 6)).astype(np.float32))
    out_mel = torch.from_numpy(rng.normal(size=(2, 80, 5)).astype(np.float32))
    out_mask = torch.zeros(2, 1, 5)
    out_mask[0, :, :5], out_mask[1, :, :4] = 1, 1
    seen = {"load": []}

    def generate(tokens, token_lengths, sampler, generator=None):
        seen.update(n=len(tokens), generator=generator)
        return types.SimpleNamespace(mel=out_mel, mask=out_mask)

    class Vocoder:
        sample_rate = 22050

        def __call__(self, mel):
            return torch.zeros(1, 10)

    def load(spec, device=None):
        seen["load"].append((spec, device))
        return Vocoder()

    monkeypatch.setattr(module_mod.vocoder, "load", load)
    monkeypatch.setattr(module_mod.media, "plot_mels", lambda t, s, uid: ("fig", t, s, uid))
    b = {**batch(3), "mels": mels, "mel_lengths": torch.tensor([6, 4, 6])}
    targets = [mels[0].numpy() * std[:, None] + mean[:, None],
               mels[1, :, :4].numpy() * std[:, None] + mean[:, None]]
    synths = [out_mel[0].numpy() * std[:, None] + mean[:, None],
              out_mel[1, :, :4].numpy() * std[:, None] + mean[:, None]]
    model = types.SimpleNamespace(generate=generate)
    return module, model, logs, b, seen, targets, synths


def test_synthesis_logs_denormalised_mels_audio_and_mcd_to_tensorboard(monkeypatch):
    """Catches a dropped generator, no/wrong experiment, the vocoder loaded by the wrong name or
    device, figure/audio tags, steps and sample rate dropped, denormalisation with - or /, and
    val/mel_mcd_db logged under another name/batch size or on every rank."""
    experiment = Experiment()
    module, model, logs, b, seen, targets, synths = synthesis_setup(
        monkeypatch, FakeTB(experiment))
    generator = torch.Generator().manual_seed(0)
    module._log_synthesis(model, b, generator)
    assert seen["n"] == 2 and seen["generator"] is generator
    assert seen["load"] == [("griffin-lim", "cpu")]
    assert [f[0] for f in experiment.figures] == ["val/mel/u0", "val/mel/u1"]
    for (tag, fig, step), target, synth, uid in zip(experiment.figures, targets, synths,
                                                    ["u0", "u1"]):
        assert step == 7 and fig[0] == "fig" and fig[3] == uid
        np.testing.assert_allclose(fig[1], target, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(fig[2], synth, rtol=1e-5, atol=1e-5)
    assert [(a[0], a[2], a[3]) for a in experiment.audio] == [
        ("val/audio/u0", 7, 22050), ("val/audio/u1", 7, 22050)]
    mcd = np.mean([log_mel_mcd(t, s, exact=False) for t, s in zip(targets, synths)])
    value, kwargs = logs.calls["val/mel_mcd_db"]
    assert value == pytest.approx(mcd, rel=1e-4)
    assert kwargs == {"batch_size": 2, "rank_zero_only": True}


def test_synthesis_without_tensorboard_loads_no_vocoder(monkeypatch):
    """Catches the experiment taken from a non-TensorBoard logger (crash), media logged when
    there is no experiment, and Griffin-Lim loaded for nothing."""
    module, model, logs, b, seen, _, _ = synthesis_setup(monkeypatch, None)
    module._log_synthesis(model, b, torch.Generator())
    assert seen["load"] == []
    assert "val/mel_mcd_db" in logs.calls


# ---------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, **extra) -> tuple[AcousticModel, list, list]:
    config = ExperimentConfig.from_dict({"model": {"preset": "tiny"}})
    symbols = SymbolTable.default()
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(symbols))
    mean, std = [-5.0 + i / 10 for i in range(80)], [1.0 + i / 100 for i in range(80)]
    state = dict(model.state_dict())
    if extra.pop("drop_weight", False):
        state.pop(next(iter(state)))
    torch.save({"tts_ebm": make_payload(config, symbols, mean, std, state), **extra}, path)
    return model, mean, std


def test_load_for_inference_is_frozen_and_carries_the_mel_statistics(tmp_path):
    """Catches the model left trainable and mel_std/mel_mean not loaded."""
    _, mean, std = save_checkpoint(tmp_path / "a.ckpt")
    bundle = load_for_inference(tmp_path / "a.ckpt")
    assert not any(p.requires_grad for p in bundle.model.parameters())
    assert not bundle.model.training
    torch.testing.assert_close(bundle.mel_mean, torch.tensor(mean))
    torch.testing.assert_close(bundle.mel_std, torch.tensor(std))


def test_mismatched_weights_say_so(tmp_path):
    """Catches the mismatch error losing its message."""
    save_checkpoint(tmp_path / "b.ckpt", drop_weight=True)
    with pytest.raises(UserInputError, match="weights do not match the stored model config"):
        load_for_inference(tmp_path / "b.ckpt")


def test_python_objects_are_refused_even_when_the_environment_allows_them(tmp_path, monkeypatch):
    """Catches weights_only=True dropped (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD would then unpickle
    arbitrary objects) and the refusal's hint text."""
    save_checkpoint(tmp_path / "c.ckpt", extra_object=datetime.date(2020, 1, 1))
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(UserInputError) as error:
        read_checkpoint(tmp_path / "c.ckpt")
    assert str(error.value) == (
        f"refusing to load checkpoint {tmp_path / 'c.ckpt'}: it holds Python objects beyond "
        "tensors (datetime.date), and loading those could run arbitrary code; tts-ebm writes "
        "checkpoints of tensors and plain values only")


def test_a_file_that_is_no_checkpoint_says_so(tmp_path):
    path = tmp_path / "d.ckpt"
    path.write_bytes(b"step,loss\n1,0.5\n")
    with pytest.raises(UserInputError, match=r"d\.ckpt is not a PyTorch file .*: expected a "
                                             r"checkpoint$"):
        read_checkpoint(path)


@pytest.mark.parametrize(("payload", "expected"), [
    (5, "checkpoint format None (written by tts-ebm ?) is not supported"),
    ({"format_version": 99, "version": "0.0.9"},
     "checkpoint format 99 (written by tts-ebm 0.0.9) is not supported"),
    ({"format_version": 99}, "checkpoint format 99 (written by tts-ebm ?) is not supported"),
])
def test_unsupported_format_names_the_writing_version(tmp_path, payload, expected):
    """Catches a non-dict payload crashing, and the writer's version (or '?') misreported."""
    path = tmp_path / "e.ckpt"
    torch.save({"tts_ebm": payload}, path)
    with pytest.raises(UserInputError) as error:
        read_checkpoint(path)
    assert expected in str(error.value)


def test_checkpoints_are_read_onto_the_cpu_with_weights_only(tmp_path, monkeypatch):
    """Catches map_location="cpu" dropped (a GPU-trained checkpoint would not open on a
    CPU-only machine) and weights_only not passed explicitly."""
    save_checkpoint(tmp_path / "f.ckpt")
    real_load, calls = torch.load, []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    read_checkpoint(tmp_path / "f.ckpt")
    assert calls == [{"map_location": "cpu", "weights_only": True}]


def test_load_for_inference_puts_model_and_statistics_on_the_device(tmp_path):
    """Catches `device` not applied to the model or the mel statistics ("meta" stands in for
    a GPU on CPU-only machines)."""
    save_checkpoint(tmp_path / "g.ckpt")
    bundle = load_for_inference(tmp_path / "g.ckpt", device="meta")
    assert {p.device.type for p in bundle.model.parameters()} == {"meta"}
    assert bundle.mel_mean.device.type == "meta" and bundle.mel_std.device.type == "meta"


# ---------------------------------------------------------------- construction, optimizer, saving
def test_payload_holds_every_entry_synthesis_reads():
    """Catches a renamed key in the checkpoint's "tts_ebm" entry (format_version, version,
    config, symbols, language, mel_mean, mel_std)."""
    from tts_ebm import __version__
    from tts_ebm.training.checkpoint import FORMAT_VERSION

    config = ExperimentConfig.from_dict({"model": {"preset": "tiny"}})
    symbols = SymbolTable.default()
    state = {"w": torch.ones(2)}
    payload = make_payload(config, symbols, [1, 2], [3, 4], state, "ca")
    assert payload == {"format_version": FORMAT_VERSION, "version": __version__,
                       "config": config.to_dict(), "symbols": symbols.to_dict(), "language": "ca",
                       "mel_mean": [1.0, 2.0], "mel_std": [3.0, 4.0], "ema_state_dict": state}
    assert make_payload(config, symbols, [1], [2], state)["language"] == "en-us"
    assert all(type(v) is float for v in payload["mel_mean"] + payload["mel_std"])


def test_module_options_statistics_and_initial_state():
    """Catches criterion/sampler options dropped, mel statistics not float32, a trainable EMA,
    an EMA that leaves buffers at their initial values (use_buffers dropped/False), and a
    fresh module claiming to resume from step 1."""
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny"},
        "criterion": {"name": "delta", "options": {"temperature": 0.5}},
        "sampler": {"name": "gd", "options": {"steps": 3}},
    })
    module = EBMTrainingModule(config, SymbolTable.default(), np.zeros(80), np.ones(80))
    assert module.criterion.temperature == 0.5 and module.sampler.steps == 3
    assert module.mel_mean.dtype == np.float32 and module.mel_std.dtype == np.float32
    assert not any(p.requires_grad for p in module.ema.parameters())
    assert module.ema.use_buffers is True  # buffers (e.g. norm statistics) follow the EMA too
    assert module.resumed_from_step == 0 and module.nonfinite_steps == 0


def test_energy_criterion_on_a_vector_field_names_the_usable_criteria():
    """Catches the error message lost or listing the energy criteria instead of delta/fm."""
    config = ExperimentConfig.from_dict({"model": {"preset": "tiny", "field": "velocity"},
                                         "criterion": {"name": "dsm"}})
    with pytest.raises(UserInputError) as error:
        EBMTrainingModule(config, SymbolTable.default(), np.zeros(80), np.ones(80))
    assert str(error.value).endswith("use a criterion that needs only the field's vector "
                                     "(delta, fm)")
    assert "criterion 'dsm' trains an energy, but model.field is 'velocity'" in str(error.value)


def test_optimizer_uses_the_configured_betas_and_weight_decay():
    """Catches AdamW built without the configured betas or weight_decay (its defaults differ)."""
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny"}, "optim": {"betas": [0.8, 0.95], "weight_decay": 0.3}})
    module = EBMTrainingModule(config, SymbolTable.default(), np.zeros(80), np.ones(80))
    group = module.configure_optimizers()["optimizer"].param_groups[0]
    assert group["betas"] == (0.8, 0.95) and group["weight_decay"] == 0.3


def test_cosine_over_a_single_step_reaches_the_floor():
    """Catches max(2, ...) for max(1, ...) in the cosine progress denominator."""
    from tts_ebm.training.config import OptimConfig
    from tts_ebm.training.module import lr_factor

    optim = OptimConfig(warmup=0, scheduler="cosine", min_lr_ratio=0.0)
    assert lr_factor(1, optim, 1) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("available", [False, True])
def test_saved_checkpoint_drops_lightning_ema_keys_and_keeps_the_cuda_rng(monkeypatch, available):
    """Catches EMA keys left in Lightning's state_dict and the CUDA RNG saved under another
    key, not saved on CUDA, or queried without CUDA."""
    module = make_module()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: ["cuda-state"])
    checkpoint = {"state_dict": dict(module.state_dict())}
    assert any(k.startswith("ema.") for k in checkpoint["state_dict"])
    module.on_save_checkpoint(checkpoint)
    assert not any(k.startswith("ema.") for k in checkpoint["state_dict"])
    assert any(k.startswith("model.") for k in checkpoint["state_dict"])
    rng = checkpoint["tts_ebm_train"]["rng"]
    assert set(rng) == {"torch", "cuda"}
    assert rng["cuda"] == (["cuda-state"] if available else [])
