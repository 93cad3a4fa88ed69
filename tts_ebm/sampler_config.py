"""A sampler config: one system's inference settings in one YAML file, the one source that
`tts-ebm synthesize --sampler-config FILE`, the recipes (`recipes/tts.sh --chosen DIR`) and the
contest read, and that the benchmark's tuning pass writes.

    # egs/mini_bench/conf/chosen/nce.yaml
    sampler:                 # SynthesisControls fields, checked there (K, tau, step size, ...)
      steps: 10
      step_size: 0.2
      temperature: 0
    train: {}                # training overrides these settings were chosen with (key: value)
    variant: base            # their name in the tuning grid

`python -m tts_ebm.sampler_config FILE steps|train` prints the K or the `key=value` training
overrides, for shell recipes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text

KEYS = ("sampler", "train", "variant")


@dataclass(frozen=True)
class SamplerConfig:
    sampler: SynthesisControls
    train: dict[str, Any] = field(default_factory=dict)
    variant: str = ""

    def train_overrides(self) -> list[str]:
        """The training overrides as `tts-ebm train` takes them."""
        return [f"{key}={value}" for key, value in self.train.items()]


def read(path: str | Path) -> SamplerConfig:
    """The config of `path`; UserInputError names the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"sampler config not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict) or set(data) - set(KEYS):
        raise UserInputError(f"{path}: want a mapping with the keys {', '.join(KEYS)}")
    sampler, train = data.get("sampler") or {}, data.get("train") or {}
    if not isinstance(sampler, dict) or not isinstance(train, dict):
        raise UserInputError(f"{path}: `sampler` and `train` must be mappings")
    try:
        controls = SynthesisControls.from_mapping(sampler)
    except UserInputError as error:
        raise UserInputError(f"{path}: {error}") from None
    return SamplerConfig(controls, dict(train), str(data.get("variant") or ""))


def write(path: str | Path, sampler: dict[str, Any], train: dict[str, Any], variant: str,
          comment: str = "") -> None:
    """Write a config (checked first: what is written can be read back)."""
    SynthesisControls.from_mapping(sampler)
    text = yaml.safe_dump({"sampler": sampler, "train": train, "variant": variant},
                          sort_keys=False)
    atomic_write_text(Path(path), (f"# {comment}\n" if comment else "") + text)


def main(argv: list[str] | None = None) -> int:
    """`FILE steps`: its K; `FILE train`: its training overrides, one `key=value` a word."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[1] not in ("steps", "train"):
        print("usage: python -m tts_ebm.sampler_config FILE steps|train", file=sys.stderr)
        return 2
    try:
        config = read(args[0])
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args[1] == "steps":
        if config.sampler.steps is None:
            print(f"error: {args[0]}: no sampler.steps (K)", file=sys.stderr)
            return 1
        print(config.sampler.steps)
    else:
        print(" ".join(config.train_overrides()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
