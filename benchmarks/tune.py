"""Per-criterion settings chosen on the `tune` set by one declared rule, never on a test set.

The `tune` set of data_prep/heldout.py is 100 sentences that no corpus trains on and no test
set holds. For every system of a grid file (e.g. egs/mini_bench/tune_grid.yaml) this
1. trains each training variant (`tts-ebm train` of <conf-dir>/<config>.yaml with the
   variant's overrides), --train-jobs at a time, for its share of an equal-compute budget:
   round(budget / step cost) steps, the costs being whole training steps relative to delta's
   (benchmarks/train_step_cost.py; the recipe's --step_costs);
2. synthesises the tune set with every training variant at K = 0 (the prior mean μ alone,
   temperature 0) and at every point of the system's sampler grid (steps, temperature,
   step_size, sampler: the `tts-ebm synthesize` options), through --vocoder;
3. judges each with pocketsphinx WER, DNSMOS P.808 and the mel metrics (`tts-ebm evaluate`
   without the reference recordings: no DTW, which no choice reads);
4. applies the rule below and writes OUT/TUNING.md (every row, the choice and its check
   against μ alone) and OUT/chosen/<system>.yaml (its sampler config: K and sampler options,
   with the training overrides they were chosen with), which the benchmark's test pass reads
   (recipes/tts.sh --chosen).

RULE (below): among the K > 0 settings of a system, those whose WER lies within the 95 %
half-width of the lowest WER tie; of them the highest mean of DNSMOS P.808 and Distill-MOS.
Sanity check: the choice beats μ alone of its training variant on both judges, the paired 95 %
interval of the per-sentence difference above 0.

Finished units (a `.done` marker each) are skipped: rerunning continues where it stopped.

  .venv/bin/python -m data_prep.heldout --set tune --out TUNE
  .venv/bin/tts-ebm prepare features --manifest-dir TUNE/manifests --out TUNE/dump
  .venv/bin/python benchmarks/tune.py --grid egs/mini_bench/tune_grid.yaml \\
      --tune-dump TUNE/dump --train-dump egs/mini_bench/dump --conf-dir egs/mini/conf \\
      --out exp/tune --budget-steps 1200 --step-costs "delta=1 fm_xpred=0.87 ..."

egs/mini_bench/tune.sh (`make bench-tune`) runs this with the bench's settings.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tts_ebm import sampler_config
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.metric_table import pick
from tts_ebm.evaluation.report import JUDGES, VERSUS_MU
from tts_ebm.statistics import paired_difference

COLUMNS = pick("wer", "dnsmos_p808", "distill_mos", "mel_fd", "roughness_ratio")
WER = COLUMNS[0]  # the rule's metrics: WER first, then the two MOS judges (JUDGES) together
RULE = ("among the K > 0 settings of a system, those whose WER lies within the 95 % half-width "
        "of the lowest WER tie; of them the highest mean of the two MOS judges, DNSMOS P.808 and "
        "Distill-MOS, is chosen (equal weight: both predict a 1-5 MOS, and neither alone is "
        "trusted; a setting judged by one of them only is ranked by that one)")


def tts_ebm(*args: str) -> None:
    """Run a tts-ebm subcommand with this interpreter; its failure stops the tuning."""
    command = [sys.executable, "-m", "tts_ebm.cli", *args]
    print("+", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True)


def run_once(folder: Path, action) -> None:
    """`action()` unless `folder/.done` exists; the marker is written only after it succeeded."""
    if (folder / ".done").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    action()
    (folder / ".done").write_text("done\n", encoding="utf-8")


def sampler_points(grid: dict | list[dict]) -> list[dict]:
    """Every combination of the grid's option lists, e.g. {steps: [1, 2], temperature: [0.3]};
    a list of such grids gives their union in order, without repeats (a grid need not be a
    full product: [{steps: [4, 10], temperature: 0.5}, {steps: 10, temperature: 0}]).
    Every point is checked as the synthesis will check it (SynthesisControls), before anything
    trains."""
    points: list[dict] = []
    for part in grid if isinstance(grid, list) else [grid]:
        keys = sorted(part)
        values = [v if isinstance(v, list) else [v] for v in (part[k] for k in keys)]
        points += [p for combo in itertools.product(*values)
                   if (p := dict(zip(keys, combo))) not in points]
    for point in points:
        try:
            SynthesisControls.from_mapping(point)
        except UserInputError as error:
            raise UserInputError(f"sampler grid point {point}: {error}") from None
    return points


def setting_name(point: dict) -> str:
    """A folder name for a sampler point: K first, then the other options, e.g. K2_temperature0.3."""
    rest = "_".join(f"{k}{str(v).replace('/', '-')}" for k, v in sorted(point.items())
                    if k != "steps")
    return f"K{point['steps']}" + (f"_{rest}" if rest else "")


def parse_costs(text: str) -> dict[str, float]:
    costs = {}
    for item in text.split():
        name, _, cost = item.partition("=")
        try:
            costs[name] = float(cost)
        except ValueError:
            raise UserInputError(f"--step-costs: '{item}' is not config=cost") from None
    return costs


def budget_steps(config: str, budget: int, costs: dict[str, float]) -> int:
    """Steps of one config under an equal-compute budget given in delta steps."""
    if config not in costs:
        raise UserInputError(f"--step-costs has no cost for {config} "
                             "(measure it with benchmarks/step_cost.py)")
    return max(1, round(budget / costs[config]))


def summary(metrics: dict, key: str) -> tuple[float, float]:
    row = metrics["summary"][key]
    return row["mean"], row.get("ci95") or 0.0


def choose(rows: list[dict]) -> dict:
    """The RULE over rows of {"K", "wer", "wer_ci95", "dnsmos_p808", ...}: a K > 0 row."""
    candidates = [r for r in rows if r["K"] > 0]
    if not candidates:
        raise UserInputError("no K > 0 setting to choose from")
    best = min(candidates, key=lambda r: r[WER.key])
    tied = [r for r in candidates if r[WER.key] <= best[WER.key] + best[f"{WER.key}_ci95"]]
    return max(tied, key=judged_mos)


def judged_mos(row: dict) -> float:
    """The mean of the MOS judges that scored a row."""
    scores = [row[judge.key] for judge in JUDGES if row.get(judge.key) is not None]
    return sum(scores) / len(scores)


class Tuner:
    """Trains, synthesises and judges one grid file's systems on the tune set."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.costs = parse_costs(args.step_costs)
        self.text_file = args.out / "tune_text.txt"

    def write_text_file(self) -> None:
        """id|text of the tune set, from the dump's test.tsv (id, n_frames, phonemes, text)."""
        with (self.args.tune_dump / "test.tsv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            raise UserInputError(f"no utterances in {self.args.tune_dump / 'test.tsv'}")
        self.args.out.mkdir(parents=True, exist_ok=True)
        self.text_file.write_text("".join(f"{r['id']}|{r['text']}\n" for r in rows), encoding="utf-8")

    def train(self, system: str, config: str, variant: str, overrides: dict) -> Path:
        out = self.args.out / system / variant / "train"
        steps = budget_steps(config, self.args.budget_steps, self.costs)
        args = ["train", "--config", str(self.args.conf_dir / f"{config}.yaml"), "--out", str(out),
                "--no-progress", f"data.dump_dir={self.args.train_dump}"]
        args += [f"{k}={v}" for k, v in overrides.items()]
        args += [f"trainer.max_steps={steps}", f"trainer.val_every={steps}",
                 f"trainer.ckpt_every={math.ceil(steps / 3)}", *self.args.train_args]

        def action() -> None:
            resume = ["--resume"] if (out / "checkpoints" / "last.ckpt").is_file() else []
            tts_ebm(*args, *resume)
        run_once(out, action)
        return out / "checkpoints" / "last.ckpt"

    def vocoder(self) -> list[str]:
        return ["--vocoder", self.args.vocoder] if self.args.vocoder else []

    def ceiling(self) -> dict:
        """Copy synthesis of the tune set: its reference mels through the same vocoder."""
        synth = self.args.out / "copy_synthesis" / "synth"
        run_once(synth, lambda: tts_ebm(
            "vocode", "--mels", str(self.args.tune_dump / "mels"), "--ids", str(self.text_file),
            "--out", str(synth), *self.vocoder()))
        return self.evaluate(synth, self.args.out / "copy_synthesis" / "eval" / "metrics.json",
                             generated_mels=False)

    def judge(self, checkpoint: Path, folder: Path, options: list[str]) -> dict:
        synth = folder / "synth"
        run_once(synth, lambda: tts_ebm(
            "synthesize", "--checkpoint", str(checkpoint), "--text-file", str(self.text_file),
            "--out", str(synth), "--seed", "0", "--save-mel", *self.vocoder(), *options))
        return self.evaluate(synth, folder / "eval" / "metrics.json")

    def evaluate(self, synth: Path, metrics: Path, generated_mels: bool = True) -> dict:
        """WER, DNSMOS P.808 and (for generated mels) the mel metrics of one folder."""
        mels = ["--reference-mels", str(self.args.tune_dump / "mels")] if generated_mels else []
        run_once(metrics.parent, lambda: tts_ebm(
            "evaluate", "--synthesized", str(synth), "--text-file", str(self.text_file),
            *mels, "--dnsmos-models", "p808", "--workers", str(self.args.workers),
            "--no-progress", "--out", str(metrics)))
        return json.loads(metrics.read_text(encoding="utf-8"))

    def train_all(self, grid: dict[str, dict], names: list[str]) -> None:
        """Every training variant first, --train-jobs at a time (one thread each on CPU)."""
        runs = [(name, grid[name].get("config", name), variant, overrides or {})
                for name in names for variant, overrides in variants(grid[name]).items()]
        with ThreadPoolExecutor(self.args.train_jobs) as pool:
            list(pool.map(lambda run: self.train(*run), runs))

    def tune_system(self, system: str, spec: dict) -> dict:
        config = spec.get("config", system)
        rows = []
        for variant, overrides in variants(spec).items():
            checkpoint = self.train(system, config, variant, overrides or {})
            base = self.args.out / system / variant
            mu = self.judge(checkpoint, base / "K0", ["--steps", "0", "--temperature", "0"])
            rows.append(row(variant, {"steps": 0, "temperature": 0}, mu, overrides))
            for point in sampler_points(spec.get("sampler") or {}):
                options = [a for k, v in point.items()
                           for a in ("--" + k.replace("_", "-"), str(v))]  # controls' flags
                metrics = self.judge(checkpoint, base / setting_name(point), options)
                rows.append(row(variant, point, metrics, overrides))
                rows[-1]["vs_mu"] = {
                    judge.key: (diff["mean"], diff["ci95"])
                    for judge in JUDGES
                    if (diff := paired_difference(metrics, mu, judge.key))["ci95"] is not None}
        chosen = choose(rows)
        summary_file = self.args.out / system / chosen["variant"] / "train" / "train_summary.json"
        steps = json.loads(summary_file.read_text(encoding="utf-8")).get("steps")
        return {"config": config, "train_steps": steps, "rows": rows,
                "chosen": {k: chosen[k] for k in ("variant", "overrides", "sampler")}}


def variants(spec: dict) -> dict[str, dict]:
    """A system's training variants, name -> overrides (one, `base`, when the grid names none)."""
    return spec.get("train") or {"base": {}}


def row(variant: str, point: dict, metrics: dict, overrides: dict) -> dict:
    wer, wer_ci = summary(metrics, WER.key)
    judged = {judge.key: summary(metrics, judge.key)[0] for judge in JUDGES
              if judge.key in metrics["summary"]}
    return {"variant": variant, "overrides": overrides or {}, "sampler": point,
            "K": int(point["steps"]), WER.key: wer, f"{WER.key}_ci95": wer_ci, **judged,
            "utterances": metrics["utterances"],
            "cells": {c.key: summary(metrics, c.key) if c.key in metrics["summary"] else None
                      for c in COLUMNS}}


def write_chosen(folder: Path, chosen: dict[str, dict]) -> None:
    """Per system <system>.yaml, the sampler config that recipes/tts.sh --chosen, the contest and
    `tts-ebm synthesize --sampler-config` read: its sampler settings (K included), the training
    overrides and the variant they were chosen with. Systems tuned earlier keep their files."""
    folder.mkdir(parents=True, exist_ok=True)
    for system, choice in chosen.items():
        sampler_config.write(folder / f"{system}.yaml", dict(choice["sampler"]),
                             dict(choice["overrides"]), choice["variant"],
                             comment=f"{system}: chosen on the tune set by benchmarks/tune.py")


def render(results: dict[str, dict], budget: int, ceiling: dict) -> str:
    cells = [c.format(*ceiling["cells"][c.key]) if ceiling["cells"][c.key] else "–"
             for c in COLUMNS]
    lines = ["# Tuning on the `tune` set (100 held-out sentences; no test sentence)", "",
             f"Rule: {RULE}. Budget: {budget} delta steps per system (steps = budget / step cost).",
             "vs μ: paired 95 % interval of the per-sentence difference of each MOS judge",
             "against μ alone of the same training variant; the sanity check wants both above 0.",
             "Ceiling, copy synthesis of the tune set (its reference mels through the same vocoder):", "",
             "| " + " | ".join(c.header for c in COLUMNS) + " |", "|" + "---|" * len(COLUMNS),
             "| " + " | ".join(cells) + " |", ""]
    for system, result in results.items():
        chosen = result["chosen"]
        lines += [f"## {system} ({result['config']}.yaml, {result['train_steps']} steps)", "",
                  "| variant | sampler | " + " | ".join(c.header for c in COLUMNS)
                  + " | " + " | ".join(VERSUS_MU) + " | chosen |",
                  "|" + "---|" * (len(COLUMNS) + 5)]
        for r in result["rows"]:
            cells = [c.format(*r["cells"][c.key]) if r["cells"][c.key] else "–" for c in COLUMNS]
            diffs = r.get("vs_mu") or {}
            vs_mu = " | ".join(f"{diffs[j.key][0]:+.2f} ± {diffs[j.key][1]:.2f}"
                               if j.key in diffs else "–" for j in JUDGES)
            mark = "**←**" if (r["variant"], r["sampler"]) == (chosen["variant"],
                                                            chosen["sampler"]) else ""
            sampler = ", ".join(f"{k}={v}" for k, v in sorted(r["sampler"].items()))
            lines.append(f"| {r['variant']} | {sampler} | " + " | ".join(cells)
                         + f" | {vs_mu} | {mark} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--grid", type=Path, required=True, help="grid YAML (systems: ...)")
    parser.add_argument("--tune-dump", type=Path, required=True,
                        help="feature dump of the tune set (its test.tsv and mels/)")
    parser.add_argument("--train-dump", type=Path, required=True, help="training feature dump")
    parser.add_argument("--conf-dir", type=Path, required=True, help="<config>.yaml folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder (resumable)")
    parser.add_argument("--budget-steps", type=int, required=True,
                        help="training budget of every system in delta steps")
    parser.add_argument("--step-costs", required=True, help='"config=cost ..." (delta = 1)')
    parser.add_argument("--chosen-dir", type=Path, default=None,
                        help="where the choices go (default: OUT/chosen)")
    parser.add_argument("--systems", nargs="*", help="only these systems of the grid")
    parser.add_argument("--vocoder", default="hifigan-lj", help="synthesize --vocoder")
    parser.add_argument("--workers", type=int, default=2, help="evaluate --workers")
    parser.add_argument("--train-jobs", type=int, default=2,
                        help="training runs at a time (CPU: one per core)")
    parser.add_argument("--train-args", nargs="*", default=[], help="extra train overrides")
    args = parser.parse_args(argv)

    grid = yaml.safe_load(args.grid.read_text(encoding="utf-8"))["systems"]
    names = args.systems or list(grid)
    missing = [n for n in names if n not in grid]
    if missing:
        raise UserInputError(f"systems {missing} are not in {args.grid}")
    tuner = Tuner(args)
    tuner.write_text_file()
    tuner.train_all(grid, names)
    ceiling = row("–", {"steps": 0}, tuner.ceiling(), {})
    for name in names:
        result = tuner.tune_system(name, grid[name])
        for r in result["rows"]:
            r.pop("utterances")
        (args.out / name / "tuning.json").write_text(json.dumps(result, indent=2) + "\n",
                                                      encoding="utf-8")
        write_chosen(args.chosen_dir or args.out / "chosen", {name: result["chosen"]})
    # every system tuned into OUT so far, in the grid's order
    results = {name: json.loads((args.out / name / "tuning.json").read_text(encoding="utf-8"))
               for name in grid if (args.out / name / "tuning.json").is_file()}
    text = render(results, args.budget_steps, ceiling)
    (args.out / "TUNING.md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
