"""Fields by name: `build(name, config)`, `names()`, and `as_field` for plain energy functions.

A field is what samplers and criteria see of the acoustic model (see `fields/base.py`):
`energy` (g = grad_x E, the energy-based model), `velocity` (g = v(x, mu, t), the
flow-matching peer), `x_prediction` (the same peer as v = (x - x_hat)/t, starting at mu) or
`timed_energy` (g = grad_x E(x, mu, t), between the two). The model
config chooses one with `model.field`.
Adding a field: one module with a `Field` subclass that has `from_config`, one line below.
Fields build their networks from `tts_ebm.networks` and never import `tts_ebm.model`: the
acoustic model uses fields, not the other way round.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from tts_ebm import _registry
from tts_ebm.fields.base import Field, FieldValue
from tts_ebm.fields.energy import EnergyField
from tts_ebm.fields.timed_energy import TimedEnergyField
from tts_ebm.fields.velocity import VelocityField
from tts_ebm.fields.x_prediction import XPredictionField
from tts_ebm.networks.frame import FrameNetConfig

_REGISTRY: dict[str, type[EnergyField | VelocityField]] = {
    "energy": EnergyField,
    "timed_energy": TimedEnergyField,
    "velocity": VelocityField,
    "x_prediction": XPredictionField,
}

__all__ = ["EnergyField", "Field", "FieldValue", "TimedEnergyField", "VelocityField",
           "XPredictionField", "as_field", "build", "names"]


def names() -> list[str]:
    """Registered field names, sorted."""
    return sorted(_REGISTRY)


def build(name: str, frame: FrameNetConfig, energy_head: str = "quadratic") -> Field:
    """The field `name` on a frame network sized by `frame` (energy fields with `energy_head`);
    UserInputError names a bad name."""
    return _registry.lookup(_REGISTRY, "model.field", name).from_config(frame, energy_head)


def as_field(field: Field | Callable[[Tensor, Tensor, Tensor], Tensor]) -> Field:
    """A field as is; a plain energy function (x, mu, mask) -> (B,) as its energy field."""
    return field if isinstance(field, Field) else EnergyField(field)
