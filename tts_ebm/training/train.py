"""One training run: build data, module and Lightning Trainer from an ExperimentConfig.

Output layout (read by the recipe): OUT/config.yaml (resolved config), OUT/checkpoints/
(last.ckpt + periodic step*.ckpt), OUT/logs/ (TensorBoard), OUT/train_summary.json.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from tts_ebm.errors import UserInputError
from tts_ebm.training import finetune
from tts_ebm.training.clock import TrainingClock
from tts_ebm.training.config import ExperimentConfig, TrainerConfig, save_config
from tts_ebm.training.data import DumpDataModule, read_symbols
from tts_ebm.training.module import EBMTrainingModule


def _not_a_lightning_tip(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("💡 Tip: For seamless cloud")


def quiet_third_party_noise() -> None:
    """Silence, by exact message, log lines we cannot fix at their source.

    Lightning advertises its cloud services ("💡 Tip: ... litlogger / litmodels") at every fit,
    and its own pytree helper constructs torch's deprecated `LeafSpec` (torch >= 2.10).
    """
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_not_a_lightning_tip)
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
    )


def resolve_hardware(trainer: TrainerConfig) -> tuple[str, str]:
    """(accelerator, precision): "auto" means CUDA with bf16-mixed if present, else CPU fp32."""
    cuda = torch.cuda.is_available()
    accelerator = trainer.accelerator
    if accelerator == "auto":
        accelerator = "gpu" if cuda else "cpu"
    precision = trainer.precision
    if precision == "auto":
        on_gpu = accelerator in ("gpu", "cuda")
        precision = "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"
    return accelerator, precision


class LogLines(Callback):
    """Plain progress lines for log files (the recipe runs without a progress bar)."""

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self.started = time.perf_counter()
        self.first_step = 0

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started, self.first_step = time.perf_counter(), trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        step = trainer.global_step
        if not trainer.is_global_zero or step % self.every or step == self.first_step:
            return
        rate = (step - self.first_step) / (time.perf_counter() - self.started)
        loss = trainer.callback_metrics.get("train/loss")
        loss_text = f" loss {float(loss):.4f}" if loss is not None else ""
        print(f"step {step}/{trainer.max_steps}{loss_text} ({rate:.2f} steps/s)", flush=True)

    def on_validation_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            metrics = {k: float(v) for k, v in trainer.callback_metrics.items()
                       if k in ("val/loss", "val/criterion", "val/mel_mcd_db")}
            shown = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            print(f"step {trainer.global_step} validation: {shown}", flush=True)


def train(
    config: ExperimentConfig,
    out_dir: str | Path,
    resume: bool = False,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume from OUT/checkpoints/last.ckpt); returns what train_summary.json holds.

    With config.finetune.init_from the run starts from a trained checkpoint (weights, model
    config, symbols, language, mel statistics; new optimiser and schedule), with the
    config.finetune.freeze parts of the model frozen.
    """
    out = Path(out_dir)
    last = out / "checkpoints" / "last.ckpt"
    if resume and not last.is_file():
        raise UserInputError(f"--resume: no checkpoint to resume from at {last}")
    started = time.perf_counter()
    quiet_third_party_noise()
    tc = config.trainer
    L.seed_everything(tc.seed, workers=True, verbose=False)
    symbols, language = read_symbols(config.data.dump_dir)
    init_from, freeze = config.finetune.init_from, config.finetune.freeze
    base = finetune.read_base(init_from) if init_from else None
    if base is not None:
        finetune.check_language(base, language)
        symbols, config.model = base.symbols, base.model_config
    datamodule = DumpDataModule(
        config.data, symbols, tc.seed, None if base is None else (base.mel_mean, base.mel_std)
    )
    module = EBMTrainingModule(
        config, symbols, datamodule.mel_mean, datamodule.mel_std, language=language
    )
    if base is not None:
        finetune.load_weights(module.model, module.ema.module, base)
    finetune.freeze(module.model, list(freeze))
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out / "config.yaml")

    accelerator, precision = resolve_hardware(tc)
    if accelerator == "cpu" and tc.cpu_threads:
        torch.set_num_threads(tc.cpu_threads)  # small models thrash with more threads
    checkpoints = ModelCheckpoint(
        dirpath=out / "checkpoints",
        filename="step{step:08d}",
        auto_insert_metric_name=False,
        every_n_train_steps=tc.ckpt_every,
        save_last=True,
        monitor="step",  # keeps the `keep_checkpoints` most recent periodic checkpoints
        mode="max",
        save_top_k=tc.keep_checkpoints,
    )
    clock = TrainingClock()
    trainer = L.Trainer(
        default_root_dir=out,
        logger=TensorBoardLogger(save_dir=out, name="logs", version=""),
        callbacks=[checkpoints, LearningRateMonitor(logging_interval="step"), clock,
                   *([] if progress else [LogLines(10 * tc.log_every)]), *callbacks],
        max_steps=tc.max_steps,
        val_check_interval=tc.val_every * tc.accumulate,  # counted in batches
        check_val_every_n_epoch=None,
        limit_val_batches=tc.limit_val_batches,
        num_sanity_val_steps=0,
        accelerator=accelerator,
        precision=precision,
        devices=tc.devices,
        strategy=tc.strategy,
        gradient_clip_val=tc.grad_clip,
        accumulate_grad_batches=tc.accumulate,
        log_every_n_steps=tc.log_every,
        use_distributed_sampler=False,  # the batch stream shards itself by rank
        inference_mode=False,  # validation differentiates the energy w.r.t. x
        enable_progress_bar=progress,
        enable_model_summary=progress,
    )
    trainer.fit(module, datamodule=datamodule, ckpt_path=last if resume else None)

    summary = {
        "criterion": config.criterion.name,
        "steps": trainer.global_step,
        "resumed_from_step": module.resumed_from_step,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "cpu_hours_total": round(clock.cpu_seconds / 3600, 4),  # every resume included
        "nonfinite_steps": module.nonfinite_steps,
        "final_train_losses": module.final_losses(),
        "final_val": {
            k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")
        },
        "accelerator": accelerator,
        "precision": precision,
        "checkpoint": str(last),
        "init_from": init_from,
        "frozen": list(freeze),
    }
    if trainer.is_global_zero:
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
