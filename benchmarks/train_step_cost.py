"""Whole training-step cost of each config relative to delta's: the recipe's --step_costs.

benchmarks/step_cost.py times the field and its criterion alone; a budget of equal training
compute needs what a recipe step costs, text encoder, durations, prior, data loading and EMA
included. This runs `tts-ebm train` of each <conf-dir>/<config>.yaml on a real feature dump as
the recipe trains on CPU (one thread a run, --jobs runs at a time: at most one per core, on an
otherwise idle machine) for --steps steps with logging every --steps/2, and takes the seconds
per step between the two log lines (start-up and the first steps left out). Prints a Markdown
table and the --step_costs line.

  .venv/bin/python benchmarks/train_step_cost.py --dump egs/mini_bench/dump \\
      --configs delta dsm dsm_nc fm fm_xpred nce ssm --jobs 2
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATE = re.compile(r"^step (\d+)/\d+.*\(([\d.]+) steps/s\)$", re.MULTILINE)


def seconds_per_step(log: str) -> float:
    """Seconds per step between the first and the last progress line of a training log (each
    line's rate is cumulative since the start of training)."""
    lines = [(int(step), float(rate)) for step, rate in RATE.findall(log)]
    if len(lines) < 2:
        raise ValueError("the log has fewer than two progress lines")
    (s1, r1), (s2, r2) = lines[0], lines[-1]
    return (s2 / r2 - s1 / r1) / (s2 - s1)


def time_config(config: str, args: argparse.Namespace, out: Path) -> float:
    half = args.steps // 2
    command = [sys.executable, "-m", "tts_ebm.cli", "train", "--config",
               str(args.conf_dir / f"{config}.yaml"), "--out", str(out / config), "--no-progress",
               f"data.dump_dir={args.dump}", f"trainer.max_steps={args.steps}",
               f"trainer.val_every={10 * args.steps}", f"trainer.ckpt_every={10 * args.steps}",
               f"trainer.log_every={max(1, half // 10)}",  # progress lines every 10 x log_every
               "trainer.cpu_threads=1", "data.num_workers=0"]
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    if result.returncode:
        raise RuntimeError(f"{config}: training failed:\n{result.stderr[-2000:]}")
    return seconds_per_step(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--dump", type=Path, required=True, help="feature dump to train on")
    parser.add_argument("--conf-dir", type=Path, default=ROOT / "egs" / "mini" / "conf")
    parser.add_argument("--configs", nargs="+", required=True, help="config names; delta first")
    parser.add_argument("--steps", type=int, default=200,
                        help="steps per run, a multiple of 20 (the second half is timed)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one per core)")
    args = parser.parse_args(argv)
    if args.configs[0] != "delta":
        parser.error("--configs must start with delta (the unit)")
    with tempfile.TemporaryDirectory(prefix="train-step-cost-") as tmp, \
            ThreadPoolExecutor(args.jobs) as pool:
        seconds = dict(zip(args.configs, pool.map(lambda c: time_config(c, args, Path(tmp)),
                                                  args.configs)))
    unit = seconds["delta"]
    print(f"{args.steps} steps per run, {args.jobs} runs at a time, one thread each, on {args.dump}")
    print("\n| config | s/step | cost (delta = 1) |\n|---|---|---|")
    for config, s in seconds.items():
        print(f"| {config} | {s:.3f} | {s / unit:.2f} |")
    print("\n--step_costs \"" + " ".join(f"{c}={s / unit:.2f}" for c, s in seconds.items()) + '"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
