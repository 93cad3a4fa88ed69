"""benchmarks/tune.py's rule and sanity check (training, synthesis and judging are not run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tts_ebm import sampler_config
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "tune.py"
_SPEC = importlib.util.spec_from_file_location("tune", _PATH)
tune = importlib.util.module_from_spec(_SPEC)
sys.modules["tune"] = tune
_SPEC.loader.exec_module(tune)


def row(k: int, wer: float, p808: float, wer_ci95: float = 0.05, name: str = "",
        distill: float | None = None) -> dict:
    judged = {"dnsmos_p808": p808} | ({"distill_mos": distill} if distill is not None else {})
    return {"K": k, "wer": wer, "wer_ci95": wer_ci95, "name": name, **judged}


def test_the_rule_takes_the_best_p808_among_settings_tied_on_wer():
    rows = [row(0, 0.10, 3.9, name="mu"),          # mu alone is never a candidate
            row(2, 0.30, 3.0, name="best wer"),
            row(4, 0.34, 3.5, name="tied, better p808"),
            row(10, 0.36, 3.8, name="outside the tie")]
    assert tune.choose(rows)["name"] == "tied, better p808"


def test_the_two_judges_count_equally_among_tied_settings():
    """P.808 alone would take "b"; the mean of P.808 and Distill-MOS takes "a"."""
    rows = [row(2, 0.30, 3.6, distill=3.0, name="a"),
            row(4, 0.31, 3.7, distill=2.7, name="b")]
    assert tune.choose(rows)["name"] == "a"
    assert tune.judged_mos(rows[0]) == pytest.approx(3.3)


def test_the_rule_keeps_the_lowest_wer_when_nothing_ties():
    rows = [row(2, 0.30, 3.0, wer_ci95=0.01, name="a"), row(4, 0.32, 3.9, name="b")]
    assert tune.choose(rows)["name"] == "a"
    with pytest.raises(UserInputError, match="no K > 0"):
        tune.choose([row(0, 0.1, 3.0)])


def test_sampler_grid_points_and_their_folder_names():
    points = tune.sampler_points({"steps": [2, 4], "temperature": 0.3, "step_size": ["1/K"]})
    assert points == [{"step_size": "1/K", "steps": 2, "temperature": 0.3},
                      {"step_size": "1/K", "steps": 4, "temperature": 0.3}]
    assert tune.setting_name(points[0]) == "K2_step_size1-K_temperature0.3"
    with pytest.raises(UserInputError, match="unknown synthesis control.*lr"):
        tune.sampler_points({"steps": [2], "lr": [1e-3]})
    with pytest.raises(UserInputError, match="grid point .*temperature"):
        tune.sampler_points({"steps": [2], "temperature": [0.3, -1]})
    union = tune.sampler_points([{"steps": [4, 10], "temperature": 0.5},
                                 {"steps": 10, "temperature": [0, 0.5]}])
    assert union == [{"steps": 4, "temperature": 0.5}, {"steps": 10, "temperature": 0.5},
                     {"steps": 10, "temperature": 0}]  # the repeated point once


def test_equal_compute_steps_come_from_the_costs():
    costs = tune.parse_costs("delta=1 ssm=2.3 fm=0.47")
    assert tune.budget_steps("ssm", 1200, costs) == 522
    assert tune.budget_steps("fm", 1200, costs) == 2553
    with pytest.raises(UserInputError, match="no cost for nce"):
        tune.budget_steps("nce", 1200, costs)
    with pytest.raises(UserInputError, match="config=cost"):
        tune.parse_costs("delta")


def test_chosen_files_are_the_sampler_configs_the_recipe_reads(tmp_path):
    tune.write_chosen(tmp_path, {"delta": {"variant": "lr1e-3", "overrides": {"optim.lr": 0.001},
                                           "sampler": {"steps": 2, "temperature": 0.3,
                                                       "step_size": "1/K"}}})
    tune.write_chosen(tmp_path, {"fm": {"variant": "base", "overrides": {},
                                        "sampler": {"steps": 10}}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["delta.yaml", "fm.yaml"]
    delta, fm = (sampler_config.read(tmp_path / f"{n}.yaml") for n in ("delta", "fm"))
    assert delta.sampler == SynthesisControls(steps=2, temperature=0.3, step_size="1/K")
    assert delta.train_overrides() == ["optim.lr=0.001"] and delta.variant == "lr1e-3"
    assert fm.sampler == SynthesisControls(steps=10) and fm.train_overrides() == []


def test_whole_step_cost_leaves_out_start_up():
    spec = importlib.util.spec_from_file_location(
        "train_step_cost", _PATH.parent / "train_step_cost.py")
    cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cost)
    # 100 steps in 20 s (start-up included), 200 in 30 s: 0.1 s a step after the first line
    log = "noise\nstep 100/200 loss 1.0 (5.00 steps/s)\nstep 200/200 loss 0.9 (6.667 steps/s)\n"
    assert cost.seconds_per_step(log) == pytest.approx(0.1, rel=1e-3)
    with pytest.raises(ValueError, match="two progress lines"):
        cost.seconds_per_step("step 100/200 loss 1.0 (5.00 steps/s)\n")


def test_a_tuning_run_trains_once_judges_every_point_and_resumes(tmp_path, monkeypatch):
    """The orchestration with tts-ebm faked: K = 4 at temperature 0.3 has the best P.808 of the
    settings tied on WER; a rerun runs nothing; the chosen files name it."""
    calls = []

    def fake(*args):
        calls.append(args[0])
        out = Path(args[args.index("--out") + 1])
        if args[0] == "vocode":  # the ceiling: scored as K = 0 at temperature 0
            out.mkdir(parents=True, exist_ok=True)
            (out / "options.json").write_text('{"--steps": "0", "--temperature": "0"}')
        elif args[0] == "train":
            out.mkdir(parents=True, exist_ok=True)
            (out / "train_summary.json").write_text(json.dumps({"steps": 600}))
            assert "trainer.max_steps=600" in args and "optim.lr=0.001" in args
        elif args[0] == "synthesize":
            out.mkdir(parents=True, exist_ok=True)
            options = dict(zip(args[::2], args[1::2])) | dict(zip(args[1::2], args[2::2]))
            (out / "options.json").write_text(json.dumps(options))
        else:  # evaluate: scores made from the synthesis options
            synth = Path(args[args.index("--synthesized") + 1])
            assert ("--reference-mels" in args) == (synth.parent.name != "copy_synthesis")
            options = json.loads((synth / "options.json").read_text())
            k, tau = int(options["--steps"]), float(options["--temperature"])
            wer, p808 = 0.30 + 0.01 * k, 3.0 + 0.1 * k - tau
            out.parent.mkdir(parents=True, exist_ok=True)
            distill = 2.5 - 0.05 * k  # the second judge dislikes more steps
            utterances = {f"u{i}": {"dnsmos_p808": p808 + 0.01 * i,
                                    "distill_mos": distill + 0.01 * i} for i in range(3)}
            summary = {"wer": {"mean": wer, "ci95": 0.05},
                       "dnsmos_p808": {"mean": p808, "ci95": 0.02},
                       "distill_mos": {"mean": distill, "ci95": 0.02}}
            out.write_text(json.dumps({"summary": summary, "utterances": utterances}))

    monkeypatch.setattr(tune, "tts_ebm", fake)
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "test.tsv").write_text("id\tn_frames\tphonemes\ttext\nu0\t9\tp\tHi.\n")
    grid = tmp_path / "grid.yaml"
    grid.write_text("systems:\n  delta:\n    train: {lr1e-3: {optim.lr: 0.001}}\n"
                    "    sampler: {steps: [2, 4, 10], temperature: [0.3, 0.5]}\n")
    argv = ["--grid", str(grid), "--tune-dump", str(tmp_path / "dump"), "--train-dump", "D",
            "--conf-dir", "C", "--out", str(tmp_path / "out"), "--budget-steps", "600",
            "--step-costs", "delta=1"]
    assert tune.main(argv) == 0
    assert calls.count("train") == 1 and calls.count("synthesize") == 7  # mu + 6 points
    assert calls.count("vocode") == 1
    chosen = tmp_path / "out" / "chosen"
    delta = sampler_config.read(chosen / "delta.yaml")
    assert delta.sampler == SynthesisControls(steps=4, temperature=0.3)  # K=10: outside the tie
    assert delta.train_overrides() == ["optim.lr=0.001"]
    text = (tmp_path / "out" / "TUNING.md").read_text()
    (line,) = [line for line in text.splitlines() if "**←**" in line]
    assert line.startswith("| lr1e-3 | steps=4, temperature=0.3 | 34.0 ± 5.0 | 3.10 ± 0.02 "
                           "| 2.30 ± 0.02 |")
    # paired against mu alone (P.808 3.0, Distill-MOS 2.5), sentence by sentence
    assert "| +0.10 ± 0.00 | -0.20 ± 0.00 |" in line
    calls.clear()
    assert tune.main(argv) == 0 and calls == []  # everything done: nothing reruns
