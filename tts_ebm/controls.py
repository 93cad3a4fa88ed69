"""The synthesis controls, defined once for the Python API, `tts-ebm synthesize` and the page.

`SynthesisControls` holds what a user may change per synthesis (sampler, K, step size, tau,
length scale, pitch shift and range, candidates, seed) and checks it on construction, so that a
bad value fails before any model runs, with the same message wherever it came from. `None` means "the checkpoint's
sampler setting". The CLI flags (`add_arguments`, `from_args`) and the page's form
(`form_fields`, served by /api/settings) are generated from the dataclass fields, so a new
control is added in one place: a field here, and where synthesis reads it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tts_ebm.errors import UserInputError

if TYPE_CHECKING:
    from tts_ebm.model.variance import VarianceControls

MAX_SEED = 2**63 - 1
MAX_PITCH_SHIFT = 12.0  # semitones: an octave either way
MAX_PITCH_RANGE = 3.0


def _step_size(value: Any) -> float | str:
    """A positive number or the string '1/K' (command-line and form values are strings)."""
    if isinstance(value, str) and value.strip().upper() == "1/K":
        return "1/K"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserInputError(f"step size must be a number or 1/K, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise UserInputError(f"step size must be a positive number or 1/K, got {value!r}")
    return number


def _number(value: Any, name: str, kind: type, low: float, low_inclusive: bool = True) -> Any:
    """`value` as int or float, finite and above `low`; a UserInputError names the control."""
    if isinstance(value, bool):
        raise UserInputError(f"{name} must be a number, got {value!r}")
    try:
        number = kind(value) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        raise UserInputError(f"{name} must be {'an integer' if kind is int else 'a number'}, "
                             f"got {value!r}") from None
    if kind is int and isinstance(value, float) and value != number:
        raise UserInputError(f"{name} must be an integer, got {value!r}")
    bad = number < low if low_inclusive else number <= low
    if not math.isfinite(number) or bad:
        raise UserInputError(f"{name} must be {'>=' if low_inclusive else '>'} {low:g}, "
                             f"got {value!r}")
    return number


def _control(help_text: str, label: str, **form: Any) -> dict[str, Any]:
    """Field metadata: the CLI flag's help, the page's label and its form input (`input`: number
    (default), text or select; `min`, `max`, `step`; `pitch`: only for a pitch predictor)."""
    return {"help": help_text, "label": label, "form": {"input": "number", **form}}


@dataclass(frozen=True)
class SynthesisControls:
    """Per-synthesis settings; None leaves the checkpoint's sampler setting."""

    sampler: str | None = field(default=None, metadata=_control(
        "a registered sampler: gd, langevin, annealed, euler or ve_euler (default: the "
        "checkpoint's)", "sampler", input="select"))
    steps: int | None = field(default=None, metadata=_control(
        "sampler steps K", "K (steps)", min=0))
    step_size: float | str | None = field(default=None, metadata=_control(
        "step size: a number or 1/K", "step size", input="text"))
    temperature: float | None = field(default=None, metadata=_control(
        "tau of the start sample mu + tau*eps", "τ (temperature)", min=0, step="any"))
    length_scale: float = field(default=1.0, metadata=_control(
        "duration multiplier: >1 slower speech (default: 1.0)", "length scale", step="any"))
    pitch_shift: float = field(default=0.0, metadata=_control(
        "shift of the predicted pitch in semitones, -12..12 (models with a pitch predictor; "
        "default: 0)", "pitch shift [semitones]", min=-MAX_PITCH_SHIFT, max=MAX_PITCH_SHIFT,
        step="any", pitch=True))
    pitch_range: float = field(default=1.0, metadata=_control(
        "scale of the predicted pitch contour around its mean, 0 (monotone)..3 (models with a "
        "pitch predictor; default: 1)", "pitch range", min=0, max=MAX_PITCH_RANGE, step="any",
        pitch=True))
    n_candidates: int | None = field(default=None, metadata=_control(
        "starts per utterance; the lowest energy one is kept", "candidates", min=1))
    seed: int | None = field(default=None, metadata=_control(
        "random seed (reproducible audio)", "seed", min=0))

    def __post_init__(self) -> None:
        """Normalise types (form and CLI values arrive as strings) and check every value."""
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.sampler is not None:
            from tts_ebm import samplers  # only when one is named: the ONNX path has no torch

            if self.sampler not in samplers.names():
                raise UserInputError(f"unknown sampler {self.sampler!r}; choose one of "
                                     f"{', '.join(samplers.names())}")
        if self.steps is not None:
            put("steps", _number(self.steps, "K (steps)", int, 0))
        if self.step_size is not None:
            put("step_size", _step_size(self.step_size))
        if self.temperature is not None:
            put("temperature", _number(self.temperature, "temperature τ", float, 0.0))
        put("length_scale", _number(self.length_scale, "length scale", float, 0.0, False))
        put("pitch_shift", _number(self.pitch_shift, "pitch shift", float, -MAX_PITCH_SHIFT))
        if self.pitch_shift > MAX_PITCH_SHIFT:
            raise UserInputError(f"pitch shift must be <= {MAX_PITCH_SHIFT:g} semitones, "
                                 f"got {self.pitch_shift:g}")
        put("pitch_range", _number(self.pitch_range, "pitch range", float, 0.0))
        if self.pitch_range > MAX_PITCH_RANGE:
            raise UserInputError(f"pitch range must be <= {MAX_PITCH_RANGE:g}, "
                                 f"got {self.pitch_range:g}")
        if self.n_candidates is not None:
            put("n_candidates", _number(self.n_candidates, "candidates", int, 1))
        if self.seed is not None:
            put("seed", _number(self.seed, "seed", int, 0))
            if self.seed > MAX_SEED:
                raise UserInputError(f"seed must be <= {MAX_SEED}, got {self.seed}")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> SynthesisControls:
        """From a form or JSON object: blank values mean None, unknown names are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise UserInputError(f"unknown synthesis control(s) {unknown}; "
                                 f"known: {sorted(names)}")
        given = {k: v for k, v in values.items() if v is not None and str(v).strip() != ""}
        return cls(**given)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SynthesisControls:
        return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})

    def overridden_by(self, other: SynthesisControls) -> SynthesisControls:
        """These controls with every field `other` sets away from its default taken from `other`
        (a sampler config's settings under the command line's flags)."""
        changed = {f.name: getattr(other, f.name) for f in dataclasses.fields(self)
                   if getattr(other, f.name) != f.default}
        return dataclasses.replace(self, **changed)

    def prosody(self) -> VarianceControls:
        """The pitch controls, as the acoustic model takes them."""
        from tts_ebm.model.variance import VarianceControls  # here: this module needs no torch

        return VarianceControls(self.pitch_shift, self.pitch_range)

    def sampler_options(self) -> dict[str, Any]:
        """The sampler options this overrides (steps, step_size, temperature, n_candidates)."""
        options = {"steps": self.steps, "step_size": self.step_size,
                   "temperature": self.temperature, "n_candidates": self.n_candidates}
        return {k: v for k, v in options.items() if v is not None}


def form_fields() -> list[dict[str, Any]]:
    """The page's form, one entry per control in field order: name, label and input."""
    return [{"name": f.name, "label": f.metadata["label"], **f.metadata["form"]}
            for f in dataclasses.fields(SynthesisControls)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One --flag per control, help text from the dataclass (values are checked on use)."""
    for control in dataclasses.fields(SynthesisControls):
        parser.add_argument("--" + control.name.replace("_", "-"), default=control.default,
                            type=str, help=control.metadata["help"])
