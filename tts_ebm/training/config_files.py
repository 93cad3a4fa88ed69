"""One experiment mapping from a YAML file and the files its `defaults` key names.

Why: five criteria × several presets as complete files meant ten 50-line YAMLs that differed in
six lines, and a shared setting changed in one of them silently split the experiments. A file
now names what it starts from and states only what differs, as Hydra's defaults list does
(Matcha-TTS's configs):

    defaults: base.yaml          # or a list, laid down in order; paths relative to this file
    criterion: {name: dsm, options: {sigma_min: 0.1}}

Merge rule: a mapping merges key by key into the base's mapping; any other value (a list, a
number, null) replaces the base's. A mapping whose `name` differs from the base's (criterion,
sampler) replaces it whole, so that one criterion's options never leak into another's — what
`tts-ebm train --criterion` does too. The `defaults` key itself is not part of the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tts_ebm.errors import UserInputError

DEFAULTS_KEY = "defaults"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of `path` laid over its defaults (recursively); errors name the file."""
    return _read(Path(path), ())


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base` by the merge rule above; neither is modified."""
    if "name" in override and "name" in base and override["name"] != base["name"]:
        return dict(override)
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """`path`'s mapping merged over its defaults; `chain` holds the files that include it."""
    if not path.is_file():
        if chain:
            raise UserInputError(f"{chain[-1]}: {DEFAULTS_KEY} names {path}, which does not exist")
        raise FileNotFoundError(f"config file not found: {path}")
    if path.resolve() in (p.resolve() for p in chain):
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise UserInputError(f"circular {DEFAULTS_KEY}: {cycle}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UserInputError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: expected a mapping at the top level")
    merged: dict[str, Any] = {}
    for name in _base_names(data.pop(DEFAULTS_KEY, []), path):
        merged = merge(merged, _read(path.parent / name, (*chain, path)))
    return merge(merged, data)


def _base_names(value: Any, path: Path) -> list[str]:
    """The `defaults` entry as a list of file names (one name may stand alone)."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise UserInputError(
            f"{path}: {DEFAULTS_KEY} must be a file name or a list of file names, got {value!r}"
        )
    return names
