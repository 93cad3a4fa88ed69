"""Training behaviour users rely on: the EMA that synthesis loads, and the learning-rate schedules."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from tts_ebm.synthesis import Synthesizer
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import load_for_inference
from tts_ebm.training.config import ExperimentConfig, OptimConfig
from tts_ebm.training.module import EBMTrainingModule, lr_factor
from tts_ebm.training.train import train

PHRASES = ["həlˈoʊ wˈɜːld.", "ðɪs ɪz ə tˈɛst.", "ɡˈʊd mˈɔːɹnɪŋ!", "sˈiː jˈuː."]
DECAY, LR, STEPS, POISONED = 0.5, 3e-3, 5, 2


def write_dump(root: Path) -> Path:
    """A tiny feature dump: each phoneme a random mel vector held for 1-3 frames."""
    (root / "mels").mkdir(parents=True)
    rng = np.random.default_rng(0)
    table = SymbolTable.default()
    for split, count in (("train", 8), ("val", 2)):
        rows = ["id\tn_frames\tphonemes\ttext"]
        for i in range(count):
            uid, phonemes = f"{split}{i}", PHRASES[i % len(PHRASES)]
            ids = table.encode(phonemes)
            mel = rng.normal(size=(80, int(rng.integers(1, 4, len(ids)).sum()))) - 5
            np.save(root / "mels" / f"{uid}.npy", mel.astype(np.float32))
            rows.append(f"{uid}\t{mel.shape[1]}\t{phonemes}\t{phonemes}")
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    stats = {"mean": [-5.0] * 80, "std": [1.0] * 80, "n_frames": 100}
    (root / "stats.json").write_text(json.dumps(stats))
    return root


def make_config(dump: Path) -> ExperimentConfig:
    return ExperimentConfig.from_dict({
        "data": {"dump_dir": str(dump), "batch_size": 4, "bucket_batches": 2, "val_synth": 0},
        "model": {"preset": "tiny"},
        "criterion": {"name": "delta"},
        "sampler": {"name": "gd", "options": {"steps": 1}},
        "optim": {"lr": LR, "warmup": 2, "scheduler": "cosine", "min_lr_ratio": 0.1},
        "trainer": {"max_steps": STEPS, "val_every": 1000, "ckpt_every": 1000, "log_every": 1},
        "ema": {"decay": DECAY},
    })


class Recorder(Callback):
    """Weights after every batch, the learning rate each step used; poisons one step's loss."""

    def __init__(self) -> None:
        self.weights: list[dict[str, torch.Tensor]] = []
        self.lrs: list[float] = []

    def on_train_start(self, trainer, pl_module) -> None:
        criterion = pl_module.criterion

        def poisoned(*args, **kwargs):
            loss, logs = criterion(*args, **kwargs)
            return (loss * math.nan if trainer.global_step == POISONED else loss), logs

        pl_module.criterion = poisoned

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.weights.append({k: v.detach().clone() for k, v in pl_module.model.state_dict().items()})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is fastest on shared CI cores
    root = tmp_path_factory.mktemp("ema")
    recorder = Recorder()
    summary = train(make_config(write_dump(root / "dump")), root / "out", progress=False,
                    callbacks=[recorder])
    torch.set_num_threads(threads)
    assert summary["steps"] == STEPS and summary["nonfinite_steps"] == 1
    return root / "out" / "checkpoints" / "last.ckpt", recorder


def expected_ema(weights: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """EMA_1 = w_1, EMA_k = DECAY * EMA_{k-1} + (1 - DECAY) * w_k over the steps taken."""
    taken = [w for step, w in enumerate(weights) if step != POISONED]
    ema = dict(taken[0])
    for w in taken[1:]:
        ema = {k: DECAY * ema[k] + (1 - DECAY) * w[k] if w[k].is_floating_point() else w[k]
               for k in w}
    return ema


def assert_same_weights(actual: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]):
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, rtol=1e-5, atol=1e-6, msg=name)


def test_ema_is_the_recursive_average_of_the_steps_taken(run):
    path, recorder = run
    assert len(recorder.weights) == STEPS
    assert all(torch.equal(recorder.weights[POISONED][k], recorder.weights[POISONED - 1][k])
               for k in recorder.weights[0])  # the poisoned step moved nothing
    stored = torch.load(path, weights_only=True)["tts_ebm"]["ema_state_dict"]
    assert_same_weights(stored, expected_ema(recorder.weights))


def test_synthesis_loads_the_ema_weights_not_the_raw_ones(run):
    path, recorder = run
    expected = expected_ema(recorder.weights)
    assert_same_weights(load_for_inference(path).model.state_dict(), expected)
    synthesizer = Synthesizer(path, vocoder="griffin-lim", device="cpu")
    assert_same_weights(synthesizer.bundle.model.state_dict(), expected)
    raw = torch.load(path, weights_only=True)["state_dict"]
    assert_same_weights({k.removeprefix("model."): v for k, v in raw.items()
                         if k.startswith("model.")}, recorder.weights[-1])
    moved = [k for k, v in expected.items()
             if v.is_floating_point() and not torch.allclose(v, recorder.weights[-1][k])]
    assert len(moved) > len(expected) // 2  # EMA and raw weights really differ


def test_training_uses_the_scheduled_learning_rate(run):
    _, recorder = run
    optim = OptimConfig(lr=LR, warmup=2, scheduler="cosine", min_lr_ratio=0.1)
    assert recorder.lrs == pytest.approx([LR * lr_factor(s, optim, STEPS) for s in range(STEPS)])
    assert recorder.lrs[:3] == pytest.approx([LR / 2, LR, LR])


# ---------------------------------------------------------------- learning-rate schedules
def cosine(progress: float, floor: float) -> float:
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize(("optim", "max_steps", "expected"), [
    # linear warm-up over 4 steps, then cosine from 1 at step 4 to 0.1 at step 14, then flat
    (OptimConfig(warmup=4, scheduler="cosine", min_lr_ratio=0.1), 14,
     {0: 0.25, 1: 0.5, 3: 1.0, 4: 1.0, 9: 0.55, 11: cosine(0.7, 0.1), 14: 0.1, 50: 0.1}),
    (OptimConfig(warmup=0, scheduler="cosine", min_lr_ratio=0.0), 10,
     {0: 1.0, 5: 0.5, 10: 0.0}),
    # noam: min((s+1)/w, sqrt(w/(s+1))): peak 1 at s+1 = w, then 1/sqrt decay
    (OptimConfig(warmup=4, scheduler="noam"), 100,
     {0: 0.25, 1: 0.5, 3: 1.0, 15: 0.5, 99: 0.2}),
    (OptimConfig(warmup=0, scheduler="noam"), 100, {0: 1.0, 3: 0.5}),
    (OptimConfig(warmup=2, scheduler="constant"), 10, {0: 0.5, 1: 1.0, 2: 1.0, 1000: 1.0}),
])
def test_lr_factor_at_chosen_steps(optim, max_steps, expected):
    got = {step: lr_factor(step, optim, max_steps) for step in expected}
    assert got == pytest.approx(expected, abs=1e-12)


def test_optimizer_follows_the_schedule():
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny"},
        "optim": {"lr": 0.01, "warmup": 2, "scheduler": "cosine", "min_lr_ratio": 0.2},
        "trainer": {"max_steps": 6},
    })
    module = EBMTrainingModule(config, SymbolTable.default(), np.zeros(80), np.ones(80))
    setup = module.configure_optimizers()
    optimizer, scheduler = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    assert setup["lr_scheduler"]["interval"] == "step"
    lrs = []
    for _ in range(7):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.005, 0.01] + [0.01 * cosine(p / 4, 0.2) for p in range(5)]
    assert lrs == pytest.approx(expected, abs=1e-12)
