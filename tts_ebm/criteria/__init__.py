"""Training criteria by name: `build(name, **options)`, `names()`.

Adding a criterion: one module with a `Criterion` dataclass and one line in `_REGISTRY`.
"""

from __future__ import annotations

from typing import Any

from tts_ebm import _registry
from tts_ebm.criteria.base import Criterion
from tts_ebm.criteria.delta import Delta
from tts_ebm.criteria.dsm import DSM
from tts_ebm.criteria.fm import FM
from tts_ebm.criteria.nce import NCE
from tts_ebm.criteria.ssm import SSM

_REGISTRY: dict[str, type[Criterion]] = {
    "delta": Delta,
    "dsm": DSM,
    "fm": FM,
    "nce": NCE,
    "ssm": SSM,
}

__all__ = ["Criterion", "build", "names"]


def names() -> list[str]:
    """Registered criterion names, sorted."""
    return sorted(_REGISTRY)


def build(name: str, **options: Any) -> Criterion:
    """A criterion from its name and options; UserInputError names bad names/options."""
    return _registry.build(_REGISTRY, "criterion", name, options)
