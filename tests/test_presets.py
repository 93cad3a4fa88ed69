"""Model presets: each one builds, sits in its size class, and is reachable from a config."""

import pytest

from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.model.config import PRESETS
from tts_ebm.training.config import _resolve_model

# (preset, min, max) parameter counts in millions: the sizes the README and configs promise.
SIZES = [("tiny", 0.05, 0.2), ("small", 3.0, 4.5), ("base", 7.0, 9.0), ("ljspeech", 20.0, 24.0)]


@pytest.mark.parametrize(("preset", "low", "high"), SIZES)
def test_preset_parameter_count(preset: str, low: float, high: float) -> None:
    model = AcousticModel(ModelConfig.preset(preset), n_symbols=146)
    millions = sum(p.numel() for p in model.parameters()) / 1e6
    assert low <= millions <= high


def test_presets_grow_in_order_and_all_are_listed() -> None:
    assert [name for name, *_ in SIZES] == list(PRESETS)
    counts = [sum(p.numel() for p in AcousticModel(ModelConfig.preset(name), 146).parameters())
              for name in PRESETS]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)


def test_config_preset_with_override() -> None:
    model = _resolve_model({"preset": "small", "frame_depth": 3})
    assert model["encoder_channels"] == 128 and model["frame_depth"] == 3


def test_unknown_preset_names_the_choices() -> None:
    with pytest.raises(UserInputError, match="small"):
        _resolve_model({"preset": "medium"})
