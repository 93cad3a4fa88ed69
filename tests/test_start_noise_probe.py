"""benchmarks/start_noise_probe.py on an untrained delta model, whose energy gradient is exactly
x - mu: K steps of size s leave (1 - s)^(2K) of the start noise's energy, a known answer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from tts_ebm import Synthesizer
from tts_ebm.errors import UserInputError
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "start_noise_probe.py"
_SPEC = importlib.util.spec_from_file_location("start_noise_probe", _PATH)
probe = importlib.util.module_from_spec(_SPEC)
sys.modules["start_noise_probe"] = probe
_SPEC.loader.exec_module(probe)

TEXTS = ["Hello there.", "A second sentence, a little longer."]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    torch.manual_seed(0)
    config = ExperimentConfig.from_dict({"model": {"preset": "tiny"}, "criterion": {"name": "delta"},
                                         "sampler": {"name": "gd", "options": {"steps": 2}}})
    table = SymbolTable.default()
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(table))
    path = tmp_path_factory.mktemp("ckpt") / "last.ckpt"
    torch.save({"tts_ebm": make_payload(config, table, [-5.0] * 80, [2.0] * 80,
                                        model.state_dict()), "state_dict": {}}, path)
    return Synthesizer(path, vocoder="griffin-lim", device="cpu")


@pytest.mark.parametrize("steps, step_size, left", [
    (1, "1/K", 0.0),            # one full step lands on mu
    (4, "0.5", 0.5 ** 8),       # each step halves the noise
    (1, "2.0", 1.0),            # overshoots to the mirror image: all of it left
    (2, "0.01", 0.99 ** 4),     # small steps leave nearly all of it
])
def test_the_residual_is_the_known_fraction(synth: Synthesizer, steps: int, step_size: str,
                                            left: float) -> None:
    setting = probe.parse_setting(f"steps={steps},step_size={step_size},temperature=0.5")
    assert probe.residual_fraction(synth, TEXTS, setting) == pytest.approx(left, abs=1e-6)


def test_bad_settings_are_refused(synth: Synthesizer) -> None:
    with pytest.raises(UserInputError, match="key=value"):
        probe.parse_setting("steps")
    with pytest.raises(UserInputError, match="starts at mu"):
        probe.residual_fraction(synth, TEXTS, {"steps": "2", "temperature": "0"})
