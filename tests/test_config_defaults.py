"""Config files with `defaults:` (tts_ebm/training/config_files.py): the merge rule, its errors,
and that no recipe config changed meaning when the recipes moved to shared bases.

`data/egs_configs_before_defaults.json` pins every egs/*/conf/*.yaml as it was on main at
e4235d2, before the bases (each file parsed with yaml.safe_load; generated once with
`git show e4235d2:<path>`), and the configs added since as they resolved when added. Pinned
rather than read from git so that the test keeps its meaning after the merge and in a clone
without history. A deliberate change of an experiment updates that file in the same commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tts_ebm.errors import UserInputError
from tts_ebm.training.config import ExperimentConfig, load_config
from tts_ebm.training.config_files import merge, read_config_file

REPO = Path(__file__).resolve().parents[1]
BEFORE = json.loads((REPO / "tests" / "data" / "egs_configs_before_defaults.json").read_text())
BASES = {"egs/mini/conf/base.yaml", "egs/ljspeech/conf/base.yaml"}  # no experiment by themselves


def _configs() -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in REPO.glob("egs/*/conf/*.yaml"))


def test_every_recipe_config_is_pinned_or_a_base() -> None:
    assert set(_configs()) == set(BEFORE) | BASES


@pytest.mark.parametrize("path", sorted(BEFORE))
def test_recipe_config_resolves_exactly_as_before(path: str) -> None:
    now = load_config(REPO / path).to_dict()
    assert now == ExperimentConfig.from_dict(BEFORE[path]).to_dict()


def test_criterion_files_state_only_what_differs_from_their_base() -> None:
    for path in _configs():
        if path not in BASES:
            assert len((REPO / path).read_text().splitlines()) <= 30, path


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_file_overrides_its_base_and_nested_sections_merge(tmp_path: Path) -> None:
    _write(tmp_path, "shared/base.yaml",
           "model: {preset: tiny, segment_frames: 32}\n"
           "trainer: {max_steps: 50, val_every: 10}\n"
           "optim: {betas: [0.8, 0.9]}\n"
           "criterion: {name: delta, options: {temperature: 0.5, time_sampling: uniform}}\n")
    path = _write(tmp_path, "run/exp.yaml",
                  "defaults: ../shared/base.yaml\n"  # relative to this file, not the cwd
                  "trainer: {max_steps: 20}\n"
                  "optim: {betas: [0.5, 0.6]}\n"
                  "criterion: {options: {temperature: 0.3}}\n")
    config = load_config(path)
    assert (config.trainer.max_steps, config.trainer.val_every) == (20, 10)
    assert config.model["segment_frames"] == 32 and config.model["frame_channels"] == 32  # tiny
    assert config.optim.betas == [0.5, 0.6]  # a list replaces, it is not merged
    assert config.criterion.options == {"temperature": 0.3, "time_sampling": "uniform"}
    assert load_config(path, ["trainer.max_steps=7"]).trainer.max_steps == 7  # CLI wins


def test_another_criterion_or_sampler_does_not_inherit_the_base_options(tmp_path: Path) -> None:
    _write(tmp_path, "base.yaml",
           "criterion: {name: delta, options: {temperature: 0.5}}\n"
           "sampler: {name: gd, options: {steps: 4, step_size: 0.1}}\n")
    path = _write(tmp_path, "fm.yaml",
                  "defaults: base.yaml\ncriterion: {name: fm}\n"
                  "sampler: {name: gd, options: {steps: 2}}\n")
    config = load_config(path)
    assert config.criterion.name == "fm" and config.criterion.options == {}
    assert config.sampler.options == {"steps": 2, "step_size": 0.1}  # same sampler: merged


def test_defaults_chain_and_list_apply_in_order(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", "trainer: {max_steps: 1, val_every: 1, seed: 1}\n")
    _write(tmp_path, "b.yaml", "defaults: a.yaml\ntrainer: {val_every: 2, seed: 2}\n")
    _write(tmp_path, "c.yaml", "trainer: {seed: 3}\n")
    path = _write(tmp_path, "d.yaml", "defaults: [b.yaml, c.yaml]\n")
    trainer = read_config_file(path)["trainer"]
    assert trainer == {"max_steps": 1, "val_every": 2, "seed": 3}
    assert "defaults" not in read_config_file(path)


def test_merge_leaves_its_inputs_alone() -> None:
    base = {"trainer": {"max_steps": 1}}
    merged = merge(base, {"trainer": {"seed": 2}})
    assert merged == {"trainer": {"max_steps": 1, "seed": 2}}
    assert base == {"trainer": {"max_steps": 1}}


def test_missing_base_names_the_file_that_asks_for_it(tmp_path: Path) -> None:
    path = _write(tmp_path, "exp.yaml", "defaults: nowhere.yaml\n")
    with pytest.raises(UserInputError, match=r"exp\.yaml: defaults names .*nowhere\.yaml"):
        load_config(path)
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


def test_circular_defaults_are_refused_with_the_cycle(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path, "a.yaml", "defaults: b.yaml\n")
    _write(tmp_path, "b.yaml", "defaults: sub/../a.yaml\n")  # the same file by another path
    with pytest.raises(UserInputError, match=r"circular defaults: .*a\.yaml -> .*b\.yaml -> "):
        load_config(tmp_path / "a.yaml")
    _write(tmp_path, "self.yaml", "defaults: self.yaml\n")
    with pytest.raises(UserInputError, match="circular defaults"):
        load_config(tmp_path / "self.yaml")


@pytest.mark.parametrize("value", ["3", "[a.yaml, 4]", "{a: b}", "''"])
def test_defaults_must_be_file_names(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, "exp.yaml", f"defaults: {value}\n")
    with pytest.raises(UserInputError, match="defaults must be a file name or a list"):
        read_config_file(path)
