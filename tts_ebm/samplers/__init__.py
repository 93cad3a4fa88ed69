"""First-order samplers (on fields) by name: `build(name, **options)`, `names()`.

Adding a sampler: one module with a `Sampler` subclass and one line in `_REGISTRY`.
"""

from __future__ import annotations

from typing import Any

from tts_ebm import _registry
from tts_ebm.samplers.annealed import AnnealedLangevin
from tts_ebm.samplers.base import Sampler, Trace
from tts_ebm.samplers.euler import Euler
from tts_ebm.samplers.gd import GradientDescent
from tts_ebm.samplers.langevin import Langevin
from tts_ebm.samplers.ve_euler import VEEuler

_REGISTRY: dict[str, type[Sampler]] = {
    "annealed": AnnealedLangevin,
    "euler": Euler,
    "gd": GradientDescent,
    "langevin": Langevin,
    "ve_euler": VEEuler,
}

__all__ = ["Sampler", "Trace", "build", "names"]


def names() -> list[str]:
    """Registered sampler names, sorted."""
    return sorted(_REGISTRY)


def build(name: str, **options: Any) -> Sampler:
    """A sampler from its name and options; UserInputError names bad names/options."""
    return _registry.build(_REGISTRY, "sampler", name, options)
