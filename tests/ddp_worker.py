"""Run by test_ddp.py: a tiny training with strategy=ddp on two CPU processes (gloo).

Lightning starts the second process by running this script again; each rank writes
OUT/rank<r>.json with the utterance ids it trained and validated on, its own batch-size
weighted mean of val/loss, and the val/loss the trainer logged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).parent))
from test_training import make_config

from tts_ebm.training import train as training

RECORD: dict = {"train_ids": [], "val_ids": [], "own_val_loss": [], "logged_val_loss": []}
_val_losses: list[tuple[float, int]] = []


class RecordingModule(training.EBMTrainingModule):
    """Keeps this rank's val/loss of every batch as logged (before any reduction)."""

    def log_dict(self, dictionary, *args, **kwargs) -> None:
        if "val/loss" in dictionary:
            _val_losses.append((float(dictionary["val/loss"]), int(kwargs["batch_size"])))
        super().log_dict(dictionary, *args, **kwargs)


class Record(Callback):
    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        RECORD["rank"] = trainer.global_rank
        RECORD["train_ids"].append(list(batch["ids"]))

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        RECORD["val_ids"].append(list(batch["ids"]))

    def on_validation_end(self, trainer, module) -> None:
        total = sum(size for _, size in _val_losses)
        RECORD["own_val_loss"].append(sum(v * size for v, size in _val_losses) / total)
        RECORD["logged_val_loss"].append(float(trainer.callback_metrics["val/loss"]))
        _val_losses.clear()


def main(dump: Path, out: Path) -> None:
    torch.set_num_threads(1)
    config = make_config(dump, "delta", max_steps=4, val_every=2, accelerator="cpu", devices=2,
                         strategy="ddp")
    config.data.val_synth = 0
    training.EBMTrainingModule = RecordingModule
    training.train(config, out / "run", progress=False, callbacks=[Record()])
    (out / f"rank{RECORD['rank']}.json").write_text(json.dumps(RECORD))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
