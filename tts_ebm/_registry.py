"""Name -> class registries shared by `criteria`, `samplers` and `fields`.

Each is chosen in a config by name; a typo must fail with a message that lists what is valid,
rather than a bare KeyError or TypeError from a constructor.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from tts_ebm.errors import UserInputError

T = TypeVar("T")


def lookup(registry: dict[str, type[T]], kind: str, name: str) -> type[T]:
    """``registry[name]``; UserInputError lists the valid names of `kind`."""
    if name not in registry:
        raise UserInputError(
            f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(registry))}"
        )
    return registry[name]


def build(registry: dict[str, type[T]], kind: str, name: str, options: dict[str, Any]) -> T:
    """Instantiate ``registry[name](**options)`` after checking the name and option keys."""
    cls = lookup(registry, kind, name)
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise UserInputError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for {kind} {name!r}; "
            f"valid options: {', '.join(valid)}"
        )
    return cls(**options)
