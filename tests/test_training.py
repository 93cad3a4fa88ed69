"""Training with Lightning on a hand-made feature dump (tiny model, CPU, no espeak-ng)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback

from tts_ebm import cli, criteria, samplers
from tts_ebm.errors import UserInputError
from tts_ebm.text import SymbolTable
from tts_ebm.training import media
from tts_ebm.training.checkpoint import load_for_inference, read_checkpoint
from tts_ebm.training.clock import spent
from tts_ebm.training.config import ExperimentConfig, load_config
from tts_ebm.training.data import BucketBatchStream, MelDataset
from tts_ebm.training.train import train

PHRASES = [
    "həlˈoʊ wˈɜːld.",
    "ðɪs ɪz ə tˈɛst.",
    "ɡˈʊd mˈɔːɹnɪŋ!",
    "haʊ ɑːɹ juː?",
    "wˈʌn tˈuː θɹˈiː.",
    "sˈiː jˈuː.",
    "ðə kˈæt sˈæt.",
    "ə lˈɑːŋ dˈeɪ.",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread, and shared CI cores make more threads thrash."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_dump(root: Path, n_train: int = 16, n_val: int = 4) -> Path:
    """A learnable dump: each phoneme owns a mel vector held for 1-3 frames, plus noise."""
    (root / "mels").mkdir(parents=True)
    rng = np.random.default_rng(0)
    table = SymbolTable.default()
    vectors = rng.normal(size=(len(table), 80)).astype(np.float32) * 2 - 5
    train_mels = []
    for split, count in (("train", n_train), ("val", n_val), ("test", 2)):
        rows = ["id\tn_frames\tphonemes\ttext"]
        for i in range(count):
            uid, phonemes = f"{split}{i:03d}", PHRASES[(i + 3 * (split != "train")) % 8]
            ids = table.encode(phonemes)
            durations = rng.integers(1, 4, size=len(ids))
            mel = np.concatenate(
                [np.repeat(vectors[t][:, None], d, 1) for t, d in zip(ids, durations)], 1
            )
            mel = (mel + 0.3 * rng.normal(size=mel.shape)).astype(np.float32)
            np.save(root / "mels" / f"{uid}.npy", mel)
            train_mels += [mel] if split == "train" else []
            rows.append(f"{uid}\t{mel.shape[1]}\t{phonemes}\tsentence {i}")
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    frames = np.concatenate(train_mels, 1)
    stats = {
        "mean": frames.mean(1).tolist(),
        "std": frames.std(1).tolist(),
        "n_frames": frames.shape[1],
    }
    (root / "stats.json").write_text(json.dumps(stats))
    return root


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> Path:
    return make_dump(tmp_path_factory.mktemp("dump"))


def make_config(dump: Path, criterion: str = "delta", **trainer) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": {"dump_dir": str(dump), "batch_size": 8, "bucket_batches": 2, "val_synth": 1},
            "model": {"preset": "tiny"},
            "criterion": {"name": criterion},
            "sampler": {"name": "gd", "options": {"steps": 3}},
            "optim": {"lr": 3e-3, "warmup": 3, "scheduler": "cosine"},
            "trainer": {
                "max_steps": 8,
                "val_every": 1000,
                "ckpt_every": 1000,
                "log_every": 2,
                **trainer,
            },
            "ema": {"decay": 0.9},
        }
    )


class LossRecorder(Callback):
    def __init__(self) -> None:
        self.losses: list[float] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))


class Crash(Exception):
    pass


class CrashAt(Callback):
    """Simulates a killed job: dies before the batch of optimizer step `step`."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            raise Crash


@pytest.mark.parametrize("criterion", criteria.names())
def test_short_run_lowers_the_loss(dump, tmp_path, criterion):
    config = make_config(dump, criterion, max_steps=40)
    config.optim.scheduler = "constant"
    recorder = LossRecorder()
    summary = train(config, tmp_path, progress=False, callbacks=[recorder])
    first, last = np.mean(recorder.losses[:5]), np.mean(recorder.losses[-5:])
    assert summary["steps"] == 40 and len(recorder.losses) == 40
    assert last < 0.8 * first, recorder.losses
    assert summary["final_train_losses"]["loss"] < first


@pytest.fixture(scope="module")
def runs(dump, tmp_path_factory):
    """An uninterrupted 8-step run, and one killed after its step-4 checkpoint, then resumed."""
    full, killed = tmp_path_factory.mktemp("full"), tmp_path_factory.mktemp("killed")
    config = make_config(dump, "delta", max_steps=8, ckpt_every=4, val_every=3)
    train(config, full, progress=False)
    with pytest.raises(Crash):
        train(config, killed, progress=False, callbacks=[CrashAt(6)])
    summary = train(config, killed, resume=True, progress=False)
    return full, killed, summary


def test_resumed_run_matches_uninterrupted_run_exactly(runs):
    full, killed, summary = runs
    assert summary["resumed_from_step"] == 4 and summary["steps"] == 8
    a = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["global_step"] == b["global_step"] == 8
    for part, key in (("state_dict", None), ("tts_ebm", "ema_state_dict")):
        left = a[part] if key is None else a[part][key]
        right = b[part] if key is None else b[part][key]
        assert left.keys() == right.keys()
        for name in left:
            assert torch.equal(left[name], right[name]), name
    assert a["optimizer_states"][0]["state"][0]["exp_avg"].equal(
        b["optimizer_states"][0]["state"][0]["exp_avg"]
    )
    written = json.loads((killed / "train_summary.json").read_text())
    assert written["steps"] == 8 and written["criterion"] == "delta"
    assert (killed / "config.yaml").is_file() and any((killed / "logs").iterdir())


def test_two_runs_of_one_config_give_identical_checkpoints(runs, dump, tmp_path):
    """Same seed, config and dump on one machine: bit-identical weights, EMA and optimiser
    state (what the benchmark's seed rows rely on)."""
    full, _, _ = runs
    config = make_config(dump, "delta", max_steps=8, ckpt_every=4, val_every=3)
    train(config, tmp_path, progress=False)
    a = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    for part in ("state_dict", "tts_ebm"):
        left = a[part] if part == "state_dict" else a[part]["ema_state_dict"]
        right = b[part] if part == "state_dict" else b[part]["ema_state_dict"]
        assert all(torch.equal(left[name], right[name]) for name in left), part
    assert a["optimizer_states"][0]["state"][3]["exp_avg_sq"].equal(
        b["optimizer_states"][0]["state"][3]["exp_avg_sq"])


def test_the_clock_counts_on_across_a_resume(runs):
    full, killed, summary = runs
    at_4 = spent(torch.load(killed / "checkpoints" / "step00000004.ckpt", weights_only=True))
    at_8 = spent(torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True))
    fresh = spent(torch.load(full / "checkpoints" / "last.ckpt", weights_only=True))
    assert 0 < at_4["cpu_seconds"] < at_8["cpu_seconds"]
    assert 0 < at_4["wall_seconds"] < at_8["wall_seconds"]
    # the resumed run adds its own steps 5-8 to what step 4 had spent, not a fresh count
    assert at_8["cpu_seconds"] - at_4["cpu_seconds"] < fresh["cpu_seconds"]
    assert summary["cpu_hours_total"] == pytest.approx(at_8["cpu_seconds"] / 3600, abs=1e-3)
    assert spent({}) == {"cpu_seconds": 0.0, "wall_seconds": 0.0}


def test_batch_stream_resumes_at_any_batch():
    lengths = list(np.random.default_rng(1).integers(10, 100, size=23))
    stream = BucketBatchStream(lengths, batch_size=4, bucket_batches=2, seed=7)
    head = [batch for _, batch in zip(range(20), stream)]
    stream.start = 13
    assert [batch for _, batch in zip(range(7), stream)] == head[13:]
    # one epoch covers every utterance once; buckets are sorted by length
    epoch = stream.epoch_batches(0)
    assert sorted(i for batch in epoch for i in batch) == list(range(23))
    assert all(np.all(np.diff([lengths[i] for i in batch]) >= 0) for batch in epoch)
    assert epoch != stream.epoch_batches(1)


def test_checkpoint_loads_for_inference_and_generates(runs):
    full, _, _ = runs
    bundle = load_for_inference(full / "checkpoints" / "last.ckpt", device="cpu")
    assert not bundle.model.training and bundle.mel_mean.shape == (80,)
    assert bundle.config.criterion.name == "delta"
    tokens = torch.tensor([bundle.symbols.encode(PHRASES[0])])
    out = bundle.model.generate(
        tokens,
        torch.tensor([tokens.shape[1]]),
        samplers.build("gd", steps=3),
        generator=torch.Generator(),
    )
    assert out.mel.shape[1] == 80 and out.mel.shape[2] > 0
    assert torch.isfinite(out.mel).all()


def test_bad_checkpoints_give_clear_errors(runs, tmp_path):
    full, _, _ = runs
    good = (full / "checkpoints" / "last.ckpt").read_bytes()
    with pytest.raises(UserInputError, match="not found"):
        load_for_inference(tmp_path / "missing.ckpt")
    (tmp_path / "cut.ckpt").write_bytes(good[: len(good) // 2])
    with pytest.raises(UserInputError, match="truncated or corrupt"):
        load_for_inference(tmp_path / "cut.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.ckpt")
    with pytest.raises(UserInputError, match="not a tts-ebm checkpoint"):
        load_for_inference(tmp_path / "foreign.ckpt")
    checkpoint = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)
    checkpoint["tts_ebm"]["format_version"] = 999
    torch.save(checkpoint, tmp_path / "future.ckpt")
    with pytest.raises(UserInputError, match="format 999"):
        load_for_inference(tmp_path / "future.ckpt")
    torch.save({"tts_ebm": Crash()}, tmp_path / "pickle.ckpt")
    with pytest.raises(UserInputError, match="Python objects beyond tensors"):
        load_for_inference(tmp_path / "pickle.ckpt")


def test_config_errors_name_the_key_and_list_valid_ones(dump, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"data:\n  dump_dir: {dump}\n  batch_sise: 4\nmodel:\n  preset: tiny\n")
    with pytest.raises(
        UserInputError,
        match=r"data\.batch_sise.*valid keys under data: "
        r"dump_dir, batch_size",
    ):
        load_config(path)
    path.write_text(f"data:\n  dump_dir: {dump}\nmodel:\n  preset: tiny\n")
    with pytest.raises(UserInputError, match=r"trainer\.max_step\b.*max_steps"):
        load_config(path, ["trainer.max_step=10"])
    with pytest.raises(UserInputError, match=r"unknown key\(s\) optimizer"):
        load_config(path, ["optimizer.lr=1"])
    with pytest.raises(UserInputError, match=r"model\.hidden"):
        load_config(path, ["model.hidden=3"])
    with pytest.raises(UserInputError, match=r"trainer\.max_steps must be int"):
        load_config(path, ["trainer.max_steps=lots"])
    with pytest.raises(UserInputError, match="unknown option"):
        load_config(path, ["criterion.options.nonsense=1"])
    config = load_config(path, ["trainer.max_steps=12", "optim.lr=1e-3", "criterion.name=dsm"])
    assert (config.trainer.max_steps, config.optim.lr, config.criterion.name) == (12, 1e-3, "dsm")
    assert config.model["frame_channels"] == 32  # the tiny preset, resolved


def test_missing_dataset_names_the_path(dump, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        train(make_config(tmp_path / "nowhere"), tmp_path / "out", progress=False)
    partial = tmp_path / "partial"
    (partial / "mels").mkdir(parents=True)
    (partial / "stats.json").write_text((dump / "stats.json").read_text())
    (partial / "train.tsv").write_text((dump / "train.tsv").read_text())
    with pytest.raises(FileNotFoundError, match=r"partial/val\.tsv"):
        train(make_config(partial), tmp_path / "out", progress=False)


def test_utterance_with_unknown_symbols_fails_when_the_dataset_is_built(dump, tmp_path):
    bad = tmp_path / "bad"
    (bad / "mels").mkdir(parents=True)
    lines = (dump / "train.tsv").read_text().splitlines()
    uid = lines[1].split("\t")[0]
    lines[1] = "\t".join([uid, lines[1].split("\t")[1], "ΩΩΩ", "???"])
    (bad / "train.tsv").write_text("\n".join(lines) + "\n")
    mean, std = np.zeros(80, np.float32), np.ones(80, np.float32)
    with pytest.raises(UserInputError, match=f"U\\+03A9.* in utterance {uid}"):
        MelDataset(bad, "train", SymbolTable.default(), mean, std)


class PoisonStep(Callback):
    """Makes the criterion return NaN at optimizer step `step`; records weights around it."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.changed: dict[int, bool] = {}

    def on_train_start(self, trainer, pl_module) -> None:
        criterion = pl_module.criterion

        def poisoned(*args, **kwargs):
            loss, logs = criterion(*args, **kwargs)
            return (loss * float("nan") if trainer.global_step == self.step else loss), logs

        pl_module.criterion = poisoned

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.before = [p.detach().clone() for p in pl_module.parameters()]

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        after = list(pl_module.parameters())
        self.changed[batch_idx] = any(not torch.equal(a, b) for a, b in zip(self.before, after))


def test_fine_tuning_carries_weights_symbols_and_stats_with_a_new_optimiser(runs, tmp_path):
    base_ckpt = runs[0] / "checkpoints" / "last.ckpt"
    base = read_checkpoint(base_ckpt)
    other = make_dump(tmp_path / "other_speaker")
    stats = json.loads((other / "stats.json").read_text())
    stats["mean"] = [m + 1.0 for m in stats["mean"]]  # a different speaker's statistics
    (other / "stats.json").write_text(json.dumps(stats))
    seen: dict = {}

    class Inspect(Callback):
        def on_train_start(self, trainer, pl_module) -> None:
            seen["state"] = {k: v.clone() for k, v in pl_module.model.state_dict().items()}
            seen["optimizer_state"] = len(trainer.optimizers[0].state)
            seen["encoder_grad"] = any(p.requires_grad for p in pl_module.model.encoder.parameters())

    config = make_config(other, max_steps=3)
    config.finetune.init_from, config.finetune.freeze = str(base_ckpt), ["encoder"]
    summary = train(config, tmp_path / "ft", progress=False, callbacks=[Inspect()])
    payload = base["tts_ebm"]
    for key, value in payload["ema_state_dict"].items():
        assert torch.equal(seen["state"][key], value), key  # started from the base weights
    assert seen["optimizer_state"] == 0 and summary["steps"] == 3  # new optimiser and schedule
    assert not seen["encoder_grad"] and summary["frozen"] == ["encoder"]
    tuned = read_checkpoint(tmp_path / "ft" / "checkpoints" / "last.ckpt")["tts_ebm"]
    assert tuned["symbols"] == payload["symbols"] and tuned["language"] == "en-us"
    assert tuned["mel_mean"] == payload["mel_mean"] != stats["mean"]  # base normalisation kept
    enc = [k for k in payload["ema_state_dict"] if k.startswith("encoder.")]
    assert all(torch.equal(tuned["ema_state_dict"][k], payload["ema_state_dict"][k]) for k in enc)


def test_fine_tuning_refuses_another_language(runs, tmp_path):
    other = make_dump(tmp_path / "catalan")
    (other / "symbols.json").write_text(
        json.dumps({"language": "ca", **SymbolTable.default().to_dict()})
    )
    config = make_config(other)
    config.finetune.init_from = str(runs[0] / "checkpoints" / "last.ckpt")
    with pytest.raises(UserInputError, match="language 'en-us'.*'ca'"):
        train(config, tmp_path / "ft", progress=False)


def test_nonfinite_step_is_skipped_and_counted(dump, tmp_path):
    poison = PoisonStep(step=2)
    summary = train(make_config(dump, max_steps=4), tmp_path, progress=False, callbacks=[poison])
    assert summary["nonfinite_steps"] == 1
    assert poison.changed == {0: True, 1: True, 2: False, 3: True}  # weights and EMA untouched
    assert all(np.isfinite(v) for v in summary["final_train_losses"].values())


def test_cli_trains_and_reports_bad_overrides(dump, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  dump_dir: {dump}\n  batch_size: 8\nmodel:\n  preset: tiny\n")
    out = tmp_path / "out"
    assert (
        cli.main(
            [
                "train",
                "--config",
                str(config),
                "--out",
                str(out),
                "--criterion",
                "dsm",
                "--no-progress",
                "trainer.max_steps=10",
                "trainer.log_every=1",
                "trainer.val_every=10",
                "optim.warmup=1",
            ]
        )
        == 0
    )
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["steps"], summary["criterion"]) == (10, "dsm")
    printed = capsys.readouterr().out  # --no-progress: plain lines for log files, every 10 steps
    assert "step 10/10 loss" in printed and "step 9/10" not in printed
    assert "step 10 validation: val/loss" in printed
    assert cli.main(["train", "--config", str(config), "--out", str(out), "trainer.typo=1"]) == 2
    assert "trainer.typo" in capsys.readouterr().err


def test_validation_media_helpers():
    rng = np.random.default_rng(0)
    mel = rng.normal(-5.0, 1.0, size=(80, 60)).astype(np.float32)
    other = rng.normal(-5.0, 1.0, size=(80, 60)).astype(np.float32)
    assert len(media.plot_mels(mel, other, "x").axes) == 3  # two panels and a colour bar
