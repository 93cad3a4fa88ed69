"""Experiment configuration: YAML file + `a.b.c=value` overrides -> nested dataclasses.

Why not LightningCLI / Hydra: an experiment here resolves to one flat, diffable mapping (data,
model, criterion, sampler, optim, trainer, ema, finetune) that is stored inside every checkpoint
and as OUT/config.yaml, so that a checkpoint alone says how it was trained and how to rebuild the
model. A file may start from shared ones (`defaults:`, see `config_files.py`, the one piece of
Hydra kept). A thin layer over `yaml.safe_load` and dataclasses does the rest with strict key
checking (a typo fails and lists the valid keys at that level) and no class-path indirection.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tts_ebm.errors import UserInputError
from tts_ebm.training.config_files import read_config_file


@dataclass
class DataConfig:
    dump_dir: str = "dump"  # output of `tts-ebm prepare features`
    batch_size: int = 16
    num_workers: int = 0  # DataLoader worker processes
    bucket_batches: int = 16  # batches per length bucket (utterances sorted within a bucket)
    negatives_dir: str | None = None  # <id>.npy raw log-mels of another system (nce source `dir`)
    val_synth: int = 2  # validation utterances synthesised and logged at each validation


@dataclass
class CriterionConfig:
    name: str = "delta"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SamplerConfig:
    name: str = "gd"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.99])
    weight_decay: float = 0.01
    warmup: int = 1000  # linear warm-up steps
    scheduler: str = "cosine"  # cosine (to min_lr_ratio*lr at max_steps) | noam | constant
    min_lr_ratio: float = 0.1


@dataclass
class TrainerConfig:
    max_steps: int = 100_000
    val_every: int = 1000  # optimizer steps between validations
    ckpt_every: int = 1000  # optimizer steps between periodic checkpoints
    keep_checkpoints: int = 3  # periodic checkpoints kept (last.ckpt always)
    limit_val_batches: int | float = 1.0  # int: batches, float: fraction of the val split
    accelerator: str = "auto"  # auto: cuda when available, else cpu
    precision: str = "auto"  # auto: bf16-mixed on cuda, 32-true on cpu
    devices: int | str | list[int] = "auto"
    strategy: str = "auto"  # e.g. ddp
    grad_clip: float | None = 1.0  # max global gradient norm
    accumulate: int = 1  # batches per optimizer step
    seed: int = 1234
    log_every: int = 50
    cpu_threads: int | None = None  # torch intra-op threads on CPU (null: torch's default)


@dataclass
class EMAConfig:
    decay: float = 0.999  # per optimizer step


@dataclass
class FinetuneConfig:
    """Start from a trained checkpoint (see tts_ebm/training/finetune.py for what is carried)."""

    init_from: str | None = None  # path of the base model's checkpoint (null: from scratch)
    freeze: list[str] = field(default_factory=list)  # model parts kept fixed: encoder, field


@dataclass
class ExperimentConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: dict[str, Any] = field(default_factory=dict)  # ModelConfig fields (+ optional preset)
    criterion: CriterionConfig = field(default_factory=CriterionConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Strictly typed and validated; the model dict is resolved to every ModelConfig field."""
        config = _build(cls, data, "")
        config.model = _resolve_model(config.model)
        _validate(config)
        return config


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read a YAML experiment config (with the files its `defaults` names, `config_files.py`)
    and apply `a.b.c=value` overrides (values YAML-parsed)."""
    data = read_config_file(path)
    for item in overrides:
        apply_override(data, item)
    try:
        return ExperimentConfig.from_dict(data)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from error


def apply_override(data: dict[str, Any], item: str) -> None:
    """Set data[a][b][c] = yaml(value) for `a.b.c=value`; keys are checked later by from_dict."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise UserInputError(f"override {item!r} is not of the form a.b.c=value")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UserInputError(f"override {item!r}: {part!r} is not a section")
        node = child
    node[leaf] = yaml.safe_load(raw) if raw.strip() else None


def save_config(config: ExperimentConfig, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))


def _build(cls: type, data: Any, where: str) -> Any:
    """Instantiate dataclass `cls` from a dict, failing on unknown keys and wrong types."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserInputError(f"{where or 'config'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise UserInputError(
            f"unknown key(s) {', '.join(where + k for k in unknown)}; "
            f"valid keys{' under ' + where.rstrip('.') if where else ''}: {', '.join(valid)}"
        )
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, value, f"{where}{name}.")
        else:
            kwargs[name] = _check_type(value, kind, f"{where}{name}")
    return cls(**kwargs)


def _check_type(value: Any, kind: Any, name: str) -> Any:
    """Return value (ints widened to float where a float is expected) or raise naming the key."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    for option in options:
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return value
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if origin is float and isinstance(value, str):  # PyYAML reads 1e-3 as a string
            try:
                return float(value)
            except ValueError:
                pass
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin in (str, bool, dict, list) and isinstance(value, origin):
            return value
    expected = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise UserInputError(f"{name} must be {expected}, got {value!r}")


def _resolve_model(model: dict[str, Any]) -> dict[str, Any]:
    """Expand an optional `preset` (tiny | small | base | ljspeech) into every ModelConfig field."""
    from tts_ebm.model import ModelConfig
    from tts_ebm.model.config import RENAMED_KEYS

    model = {RENAMED_KEYS.get(key, key): value for key, value in model.items()}
    preset = model.pop("preset", None)
    base = ModelConfig.preset(preset) if preset else ModelConfig()
    valid = list(base.to_dict())
    unknown = sorted(set(model) - set(valid))
    if unknown:
        raise UserInputError(
            f"unknown key(s) {', '.join('model.' + k for k in unknown)}; "
            f"valid keys under model: preset, {', '.join(valid)}"
        )
    return ModelConfig.from_dict({**base.to_dict(), **model}).to_dict()


def _validate(config: ExperimentConfig) -> None:
    """Cross-field checks, and criterion/sampler options checked by building them."""
    from tts_ebm import criteria, samplers

    criteria.build(config.criterion.name, **config.criterion.options)
    samplers.build(config.sampler.name, **config.sampler.options)
    if config.optim.scheduler not in ("cosine", "noam", "constant"):
        raise UserInputError(
            f"optim.scheduler must be cosine, noam or constant, got {config.optim.scheduler!r}"
        )
    if len(config.optim.betas) != 2:
        raise UserInputError(f"optim.betas must hold two numbers, got {config.optim.betas}")
    for name in ("max_steps", "val_every", "ckpt_every", "accumulate", "log_every"):
        if getattr(config.trainer, name) < 1:
            raise UserInputError(f"trainer.{name} must be >= 1")
    if config.data.batch_size < 1 or config.data.bucket_batches < 1:
        raise UserInputError("data.batch_size and data.bucket_batches must be >= 1")
    if not 0.0 <= config.ema.decay < 1.0:
        raise UserInputError(f"ema.decay must be in [0, 1), got {config.ema.decay}")
