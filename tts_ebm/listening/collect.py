"""Find the utterances that every system folder (and the reference) can provide.

A listening test compares systems on the same sentences, so only ids present everywhere are
usable; the ids each folder lacks are reported rather than silently dropped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from tts_ebm.errors import UserInputError

REFERENCE = "reference"


@dataclass(frozen=True)
class Condition:
    """One rated condition: a named folder of `<utterance id>.wav` files."""

    name: str
    folder: Path
    role: str  # "system", "reference" or "anchor"

    def path(self, utterance_id: str) -> Path:
        return self.folder / f"{utterance_id}.wav"


@dataclass
class Selection:
    """Conditions, the chosen utterance ids, and which ids each folder lacked."""

    conditions: list[Condition]
    utterance_ids: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)


def parse_named_dirs(specs: list[str], option: str) -> dict[str, Path]:
    """Parse `NAME=DIR` command-line values, rejecting malformed or duplicate names."""
    named: dict[str, Path] = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        name = name.strip()
        if not sep or not name or not folder:
            raise UserInputError(f"{option} expects NAME=DIR, got {spec!r}")
        if name in named or name == REFERENCE:
            raise UserInputError(f"{option}: condition name {name!r} is duplicated or reserved")
        named[name] = Path(folder)
    return named


def build_conditions(
    systems: dict[str, Path], reference: Path | None, anchors: dict[str, Path]
) -> list[Condition]:
    """Conditions in a stable order: reference, systems, anchors; names must be unique."""
    if not systems:
        raise UserInputError("at least one --system NAME=DIR is required")
    clash = set(systems) & set(anchors)
    if clash:
        raise UserInputError(f"names used both as --system and --anchor: {sorted(clash)}")
    conditions = [Condition(REFERENCE, Path(reference), "reference")] if reference else []
    conditions += [Condition(n, Path(d), "system") for n, d in systems.items()]
    conditions += [Condition(n, Path(d), "anchor") for n, d in anchors.items()]
    return conditions


def _wav_ids(condition: Condition) -> set[str]:
    if not condition.folder.is_dir():
        raise FileNotFoundError(f"folder of {condition.name!r} not found: {condition.folder}")
    ids = {p.stem for p in condition.folder.glob("*.wav")}
    if not ids:
        raise UserInputError(
            f"no .wav files in the folder of {condition.name!r}: {condition.folder}"
        )
    return ids


def select_utterances(
    conditions: list[Condition], n_utterances: int | None = None, seed: int = 0
) -> Selection:
    """Ids present in every folder; a seeded random subset of `n_utterances` if given."""
    ids = {c.name: _wav_ids(c) for c in conditions}
    everywhere = set.intersection(*ids.values())
    every_id = set.union(*ids.values())
    missing = {name: sorted(every_id - have) for name, have in ids.items() if every_id - have}
    if not everywhere:
        raise UserInputError(
            "no utterance id is present in every folder; missing per folder: "
            + "; ".join(f"{n}: {len(m)} ids" for n, m in missing.items())
        )
    chosen = sorted(everywhere)
    if n_utterances is not None:
        if n_utterances < 1:
            raise UserInputError(f"--n-utterances must be positive, got {n_utterances}")
        if n_utterances < len(chosen):
            chosen = sorted(random.Random(seed).sample(chosen, n_utterances))
    return Selection(conditions, chosen, missing)
