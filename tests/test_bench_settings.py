"""The CPU benchmark's two passes agree: every system `make bench` trains has a config, a step
cost, a tuning-grid entry and settings chosen on the tune set that its config accepts, so the
test pass cannot start a run the tuning pass never chose for (and fail an hour into it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tts_ebm import sampler_config
from tts_ebm.training.config import load_config

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "egs" / "mini_bench"
CONF = REPO / "egs" / "mini" / "conf"
SYSTEMS = ["delta", "nce", "ssm", "dsm_nc", "fm_xpred", "dsm", "fm"]  # egs/mini_bench/run.sh


def _settings() -> dict[str, str]:
    """The shell variables of settings.sh, read by bash itself."""
    script = (f". {BENCH / 'settings.sh'}; printf '%s\\n' \"$budget_steps\" \"$step_costs\" "
              "\"$vocoder\" \"$seed_systems\"")
    lines = subprocess.run(["bash", "-c", script], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    return dict(zip(["budget_steps", "step_costs", "vocoder", "seed_systems"], lines))


def _trained_systems(run_sh: str) -> list[str]:
    """The plain system names run.sh passes to --criteria (its $criteria expanded; the seed
    runs, made from settings.sh, left out)."""
    five = re.search(r'^criteria="([^"]+)"', run_sh, re.MULTILINE).group(1)
    argument = re.search(r'--criteria "([^"]+)"', run_sh).group(1).replace("$criteria", five)
    return argument.split("$(")[0].split()


def test_every_bench_system_is_costed_tuned_and_chosen() -> None:
    settings = _settings()
    costs = dict(pair.split("=") for pair in settings["step_costs"].split())
    grid = yaml.safe_load((BENCH / "tune_grid.yaml").read_text())["systems"]
    run_sh = (BENCH / "run.sh").read_text()
    assert _trained_systems(run_sh) == SYSTEMS
    assert sorted(grid) == sorted(SYSTEMS) and sorted(costs) == sorted(SYSTEMS)
    assert int(settings["budget_steps"]) > 0 and settings["vocoder"] == "hifigan-lj"
    seeds = settings["seed_systems"].split()
    assert len(seeds) == 2 and set(seeds) <= set(SYSTEMS[:5])  # the two best of the five
    for name in SYSTEMS:
        chosen = sampler_config.read(BENCH / "conf" / "chosen" / f"{name}.yaml")  # values checked
        config = load_config(CONF / f"{name}.yaml", chosen.train_overrides())  # keys must exist
        assert config.criterion.name
        assert chosen.sampler.steps > 0  # the chosen K; mu alone is judged besides it
