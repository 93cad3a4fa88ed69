"""A sampler config is the one source of a chosen setting: read and checked once (values by
SynthesisControls), printed for shell recipes, and applied by `tts-ebm synthesize
--sampler-config` under the flags that differ from their defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_ebm import sampler_config
from tts_ebm.cli import main
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError


def test_written_configs_read_back_and_print_for_the_recipe(tmp_path: Path, capsys) -> None:
    path = tmp_path / "nce.yaml"
    sampler_config.write(path, {"steps": 10, "step_size": 0.2, "temperature": 0},
                         {"criterion.options.sigma": 0.1, "optim.lr": 0.001}, "noised",
                         comment="nce: chosen on the tune set")
    config = sampler_config.read(path)
    assert config.sampler == SynthesisControls(steps=10, step_size=0.2, temperature=0.0)
    assert config.train_overrides() == ["criterion.options.sigma=0.1", "optim.lr=0.001"]
    assert path.read_text().startswith("# nce: chosen on the tune set\nsampler:\n")
    assert sampler_config.main([str(path), "steps"]) == 0
    assert sampler_config.main([str(path), "train"]) == 0
    assert capsys.readouterr().out == "10\ncriterion.options.sigma=0.1 optim.lr=0.001\n"


@pytest.mark.parametrize("text, words", [
    ("sampler: {steps: -1}\n", "K \\(steps\\)"),
    ("sampler: {stesp: 2}\n", "unknown synthesis control"),
    ("sampler: [2]\n", "must be mappings"),
    ("sampler: {steps: 2}\nextra: 1\n", "want a mapping with the keys"),
    ("sampler: {steps: [\n", "not valid YAML"),
])
def test_a_bad_file_is_named_with_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=f"{path}: .*{words}"):
        sampler_config.read(path)
    with pytest.raises(UserInputError, match="sampler config not found"):
        sampler_config.read(tmp_path / "none.yaml")


def test_flags_away_from_their_defaults_override_the_file() -> None:
    chosen = SynthesisControls(steps=2, temperature=0.3, length_scale=1.2)
    flags = SynthesisControls(steps=0, temperature=None, seed=5)
    assert chosen.overridden_by(flags) == SynthesisControls(steps=0, temperature=0.3,
                                                            length_scale=1.2, seed=5)
    assert chosen.overridden_by(SynthesisControls()) == chosen


def test_synthesize_applies_the_sampler_config(tmp_path: Path, tiny_checkpoint) -> None:
    checkpoint = tiny_checkpoint(tmp_path / "tiny.ckpt")
    config = tmp_path / "chosen.yaml"
    sampler_config.write(config, {"steps": 3, "temperature": 0}, {}, "base")
    texts = tmp_path / "texts.txt"
    texts.write_text("a|Hello.\n")
    for flags, steps in (([], 3), (["--steps", "1"], 1)):
        out = tmp_path / f"out{steps}"
        assert main(["synthesize", "--checkpoint", str(checkpoint), "--text-file", str(texts),
                     "--out", str(out), "--vocoder", "griffin-lim", "--sampler-config",
                     str(config), *flags]) == 0
        assert json.loads((out / "rtf.json").read_text())["steps"] == steps
