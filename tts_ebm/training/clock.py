"""The compute a run has spent, carried in its checkpoints so that a resumed run counts on.

A learning curve against CPU-hours needs the training process's CPU time at each checkpoint,
summed over every resume; wall time alone would count the other jobs that shared the machine.
`time.process_time()` covers all of the process's threads (DataLoader worker processes are not
in it: train with `data.num_workers=0` where the count matters).
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class TrainingClock(Callback):
    """Cumulative CPU and wall seconds of training, saved in and restored from checkpoints."""

    def __init__(self) -> None:
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self._cpu_mark = time.process_time()
        self._wall_mark = time.perf_counter()

    def _tick(self) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        self.cpu_seconds += cpu - self._cpu_mark
        self.wall_seconds += wall - self._wall_mark
        self._cpu_mark, self._wall_mark = cpu, wall

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self._cpu_mark, self._wall_mark = time.process_time(), time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule,
                           *args: Any) -> None:
        self._tick()
        if trainer.global_step % trainer.log_every_n_steps == 0:
            module.log("train/cpu_hours", self.cpu_seconds / 3600, rank_zero_only=True)

    def state_dict(self) -> dict[str, float]:
        self._tick()
        return {"cpu_seconds": self.cpu_seconds, "wall_seconds": self.wall_seconds}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.cpu_seconds = float(state_dict["cpu_seconds"])
        self.wall_seconds = float(state_dict["wall_seconds"])


def spent(checkpoint: dict[str, Any]) -> dict[str, float]:
    """The CPU and wall seconds a checkpoint's run had spent when it was saved (zeros for a
    checkpoint written before the clock existed)."""
    state = checkpoint.get("callbacks", {}).get(TrainingClock.__qualname__, {})
    return {"cpu_seconds": float(state.get("cpu_seconds", 0.0)),
            "wall_seconds": float(state.get("wall_seconds", 0.0))}
