"""LightningModule: AcousticModel + criterion, AdamW with warm-up, EMA, safe steps, validation.

Lightning does the loop, precision, gradient clipping, accumulation, DDP and checkpoint files;
this module adds what is specific to EBM training:
- non-finite loss or gradients skip the optimizer step on every rank (grads dropped, so AdamW
  moves nothing and the EMA is not updated) and are counted in `train/nonfinite_steps`;
- an EMA of the weights (updated after each optimizer step) that validation and synthesis use;
- exact resume: the global torch RNG (segment windows, criterion noise) is saved with the
  checkpoint and restored right before the first resumed batch; validation runs on a forked,
  fixed-seed RNG so it never shifts the training noise.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import Tensor
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

import vocoder
from tts_ebm import criteria, samplers
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.mel_metrics import log_mel_mcd
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training import media
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig, OptimConfig

SUMMARY_WINDOW = 50  # training steps averaged for the final losses in train_summary.json


def lr_factor(step: int, optim: OptimConfig, max_steps: int) -> float:
    """Multiplier of the base learning rate at optimizer step `step` (0-based)."""
    warmup = max(optim.warmup, 0)
    if optim.scheduler == "noam":  # peaks at 1 after warm-up, then decays as 1/sqrt(step)
        step1, warm = step + 1, max(warmup, 1)
        return min(step1 / warm, math.sqrt(warm / step1))
    if step < warmup:
        return (step + 1) / warmup
    if optim.scheduler == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return optim.min_lr_ratio + (1 - optim.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class EBMTrainingModule(L.LightningModule):
    """Trains `AcousticModel` with the configured criterion; see the module docstring."""

    def __init__(
        self,
        config: ExperimentConfig,
        symbols: SymbolTable,
        mel_mean: np.ndarray,
        mel_std: np.ndarray,
        language: str = "en-us",
    ) -> None:
        super().__init__()
        self.config = config
        self.symbols = symbols
        self.language = language
        self.mel_mean = np.asarray(mel_mean, dtype=np.float32)
        self.mel_std = np.asarray(mel_std, dtype=np.float32)
        self.model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(symbols))
        self.criterion = criteria.build(config.criterion.name, **config.criterion.options)
        if self.criterion.needs_energy and not self.model.field.has_energy:
            vector_only = [n for n in criteria.names() if not criteria.build(n).needs_energy]
            raise UserInputError(
                f"criterion {config.criterion.name!r} trains an energy, but model.field is "
                f"{self.model.config.field!r}; use a criterion that needs only the field's "
                f"vector ({', '.join(vector_only)})"
            )
        self.sampler = samplers.build(config.sampler.name, **config.sampler.options)
        self.ema = AveragedModel(
            self.model, multi_avg_fn=get_ema_multi_avg_fn(config.ema.decay), use_buffers=True
        )
        self.ema.requires_grad_(False)
        self.nonfinite_steps = 0
        self.resumed_from_step = 0
        self.recent: dict[str, deque[Tensor]] = {}
        self._bad_loss = False  # a micro-batch of the current optimizer step had a bad loss
        self._skipped = False  # the current optimizer step was skipped
        self._pending_rng: dict[str, Any] | None = None

    # ---------------------------------------------------------------- training
    def configure_optimizers(self) -> dict[str, Any]:
        optim = self.config.optim
        optimizer = torch.optim.AdamW(
            self.model.parameters(),
            lr=optim.lr,
            betas=tuple(optim.betas),
            weight_decay=optim.weight_decay,
        )
        max_steps = self.config.trainer.max_steps

        def schedule(step: int) -> float:
            return lr_factor(step, optim, max_steps)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_train_batch_start(self, batch: dict[str, Any], batch_idx: int) -> None:
        if self._pending_rng is not None:
            torch.set_rng_state(self._pending_rng["torch"])
            if torch.cuda.is_available() and self._pending_rng["cuda"]:
                torch.cuda.set_rng_state_all(self._pending_rng["cuda"])
            self._pending_rng = None

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, logs = self.model.training_step_losses(
            batch["tokens"],
            batch["token_lengths"],
            batch["mels"],
            batch["mel_lengths"],
            self.criterion,
            negatives=batch.get("negatives"),
            log_f0=batch.get("log_f0"),
        )
        if not torch.isfinite(loss):
            self._bad_loss = True
            # a zero loss over every parameter keeps backward (and DDP's all-reduce) in step;
            # on_before_optimizer_step then drops the gradients
            return sum(p.sum() for p in self.model.parameters() if p.requires_grad) * 0.0
        size = len(batch["ids"])
        self.log("train/loss", logs["loss"], batch_size=size, prog_bar=True)
        self.log_dict({f"train/{k}": v for k, v in logs.items() if k != "loss"}, batch_size=size)
        for key, value in logs.items():
            self.recent.setdefault(key, deque(maxlen=SUMMARY_WINDOW)).append(value)
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())
        bad = self._bad_loss or not bool(torch.isfinite(norm))
        self._bad_loss = False
        self._skipped = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if self._skipped:
            optimizer.zero_grad(set_to_none=True)  # AdamW skips parameters without a grad
            self.nonfinite_steps += 1
        else:
            self.log("train/grad_norm", norm)
        self.log("train/nonfinite_steps", float(self.nonfinite_steps))

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        super().optimizer_step(*args, **kwargs)
        if not self._skipped:
            self.ema.update_parameters(self.model)

    # ---------------------------------------------------------------- validation
    def _rng_devices(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        model: AcousticModel = self.ema.module
        size = len(batch["ids"])
        with torch.random.fork_rng(devices=self._rng_devices()), torch.enable_grad():
            torch.manual_seed(self.config.trainer.seed + batch_idx)
            generator = torch.Generator(self.device).manual_seed(self.config.trainer.seed)
            _, logs = model.training_step_losses(
                batch["tokens"],
                batch["token_lengths"],
                batch["mels"],
                batch["mel_lengths"],
                self.criterion,
                log_f0=batch.get("log_f0"),
            )
            # sync_dist: every rank validates its own shard; the logged value is their mean
            self.log_dict({f"val/{k}": v for k, v in logs.items()}, batch_size=size,
                          sync_dist=True)
            if model.field.has_energy:
                self._log_energies(model, batch, generator)
            if batch_idx == 0 and self.trainer.is_global_zero and self.config.data.val_synth:
                self._log_synthesis(model, batch, generator)

    def _log_energies(
        self, model: AcousticModel, batch: dict[str, Any], generator: torch.Generator
    ) -> None:
        """Energy per frame of the data and of sampler outputs under the same aligned mu."""
        mels = batch["mels"]
        with torch.no_grad():
            prior = model.align(batch["tokens"], batch["token_lengths"], mels,
                                batch["mel_lengths"], batch.get("log_f0"))
            mu, mask = prior.mu, prior.mask
            frames = mask.sum(dim=(1, 2))
            data = model.energy(mels * mask, mu, mask) / frames
        _, trace = self.sampler.sample(model.energy, mu, mask, generator=generator)
        sample = trace.energies[-1] / frames
        size = len(batch["ids"])
        self.log("val/energy_data", data.mean(), batch_size=size, sync_dist=True)
        self.log("val/energy_sample", sample.mean(), batch_size=size, sync_dist=True)
        self.log("val/energy_gap", (sample - data).mean(), batch_size=size, sync_dist=True)

    def _log_synthesis(
        self, model: AcousticModel, batch: dict[str, Any], generator: torch.Generator
    ) -> None:
        """Mel images, Griffin-Lim clips and log-mel MCD of the first val utterances (EMA
        weights); the MCD is the report's `mel_mcd_db` aligned by fastdtw (no numba compile)."""
        n = min(self.config.data.val_synth, len(batch["ids"]))
        out = model.generate(
            batch["tokens"][:n], batch["token_lengths"][:n], self.sampler, generator=generator
        )
        experiment = self.logger.experiment if isinstance(self.logger, TensorBoardLogger) else None
        griffin_lim = vocoder.load("griffin-lim", device="cpu") if experiment is not None else None
        mcds = []
        for i in range(n):
            target = self._denormalise(batch["mels"][i, :, : batch["mel_lengths"][i]])
            synthesis = self._denormalise(out.mel[i, :, : int(out.mask[i].sum())])
            mcds.append(log_mel_mcd(target, synthesis, exact=False))
            if experiment is not None:
                uid, step = batch["ids"][i], self.global_step
                experiment.add_figure(
                    f"val/mel/{uid}", media.plot_mels(target, synthesis, uid), step
                )
                wav = griffin_lim(torch.from_numpy(synthesis)[None])
                experiment.add_audio(f"val/audio/{uid}", wav, step, griffin_lim.sample_rate)
        self.log("val/mel_mcd_db", float(np.mean(mcds)), batch_size=n, rank_zero_only=True)

    def _denormalise(self, mel: Tensor) -> np.ndarray:
        mel = mel.detach().float().cpu().numpy()
        return mel * self.mel_std[:, None] + self.mel_mean[:, None]

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """EMA weights move from Lightning's state_dict into the plain "tts_ebm" entry."""
        state = checkpoint["state_dict"]
        for key in [k for k in state if k.startswith("ema.")]:
            del state[key]
        checkpoint["tts_ebm"] = make_payload(
            self.config,
            self.symbols,
            self.mel_mean.tolist(),
            self.mel_std.tolist(),
            self.ema.module.state_dict(),
            self.language,
        )
        checkpoint["tts_ebm_train"] = {
            "ema_n_averaged": self.ema.n_averaged.clone(),
            "nonfinite_steps": self.nonfinite_steps,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            },
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Put the EMA back into the state_dict (Lightning loads it next); queue the RNG."""
        train = checkpoint["tts_ebm_train"]
        state = checkpoint["state_dict"]
        state["ema.n_averaged"] = train["ema_n_averaged"]
        for key, value in checkpoint["tts_ebm"]["ema_state_dict"].items():
            state[f"ema.module.{key}"] = value
        self.nonfinite_steps = int(train["nonfinite_steps"])
        self.resumed_from_step = int(checkpoint["global_step"])
        self._pending_rng = train["rng"]

    def final_losses(self) -> dict[str, float]:
        """Mean of each logged training term over the last SUMMARY_WINDOW steps."""
        return {k: float(torch.stack(list(v)).mean()) for k, v in self.recent.items() if v}
