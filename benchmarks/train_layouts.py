"""Which way of using a CPU's cores trains fastest: processes, intra-op threads, DataLoader
workers or torch.compile (issue 11). One table, every layout measured in this one run.

    python benchmarks/train_layouts.py [--criteria "delta fm"] [--steps 40] [--cores 2]

Each layout runs the real training loop (benchmarks/train_throughput.py's worker: Lightning,
the mini config, a synthetic dump of real-length utterances) and is scored by optimizer steps
per second per core it occupies, the figure that decides how a recipe with several runs
should use a machine:
- `processes`: --cores runs at once, one thread each (what the recipes do: one run per core);
- `threads`: one run with --cores intra-op threads;
- `loader`: one run, one thread, batches prepared by one DataLoader worker process;
- `compile`: one run, one thread, the field network under torch.compile (its compile time is
  in the warm-up steps, not timed);
- `single`: one run, one thread, the other cores idle (the reference for the ratios).
Run it on an otherwise idle machine: the layouts compete with anything else that runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from train_throughput import ROOT, layout_flags, write_dump

# name: (runs at once, intra-op threads, DataLoader workers, torch.compile, cores occupied)
LAYOUTS = {
    "single": (1, 1, 0, False, 1),
    "processes": (None, 1, 0, False, None),
    "threads": (1, None, 0, False, None),
    "loader": (1, 1, 1, False, 2),
    "compile": (1, 1, 0, True, 1),
}


def run_layout(args: argparse.Namespace, dump: str, criterion: str, layout: str) -> dict:
    runs, threads, loader, compile_, cores = LAYOUTS[layout]
    runs, threads, cores = runs or args.cores, threads or args.cores, cores or args.cores
    command = [sys.executable, str(Path(__file__).with_name("train_throughput.py")),
               "--worker", criterion, "--dump", dump, "--conf-dir", args.conf_dir,
               "--steps", str(args.steps), "--warmup", str(args.warmup),
               *layout_flags(threads, loader, compile_)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(runs)]
    rates = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            return {"error": err.strip().splitlines()[-1] if err.strip() else "failed"}
        rates.append(json.loads(out.strip().splitlines()[-1])["steps_per_s"])
    return {"steps_per_s": sum(rates), "per_core": sum(rates) / cores, "runs": runs,
            "threads": threads, "cores": cores}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf-dir", default=str(ROOT / "egs/mini/conf"))
    parser.add_argument("--criteria", default="delta fm")
    parser.add_argument("--layouts", nargs="+", default=list(LAYOUTS), choices=list(LAYOUTS))
    parser.add_argument("--cores", type=int, default=2, help="cores the layouts may use")
    parser.add_argument("--steps", type=int, default=40, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed optimizer steps first")
    parser.add_argument("--utterances", type=int, default=64)
    args = parser.parse_args()
    print(f"{args.conf_dir}, CPU, {args.steps} timed steps after {args.warmup} warm-up, "
          f"{args.cores} cores\n")
    print("| criterion | layout | runs × threads | cores | steps/s (all runs) | steps/s per core "
          "| × first layout per core |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as dump:
        write_dump(Path(dump), args.utterances, 150, 400)
        for criterion in args.criteria.split():
            reference = None
            for layout in args.layouts:
                row = run_layout(args, dump, criterion, layout)
                if "error" in row:
                    print(f"| {criterion} | {layout} | failed: {row['error'][:120]} | | | | |",
                          flush=True)
                    continue
                reference = reference or row["per_core"]
                print(f"| {criterion} | {layout} | {row['runs']} × {row['threads']} | "
                      f"{row['cores']} | {row['steps_per_s']:.2f} | {row['per_core']:.2f} | "
                      f"{row['per_core'] / reference:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
