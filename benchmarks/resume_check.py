"""Did a killed and resumed run go on as one run? Each (re)start of `tts-ebm train` writes its own
TensorBoard event file; a run killed after its checkpoint at step S and resumed from it logs the
steps after S twice. This prints, for every pair of event files that overlap, the steps both
logged and the largest difference of their training loss (0 when the resume is exact: same
weights, optimiser state, RNG and batch order).

    .venv/bin/python benchmarks/resume_check.py egs/ljspeech/exp/voice/train/logs
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

TAG = "train/loss"


def losses(path: Path) -> dict[int, float]:
    events = EventAccumulator(str(path), size_guidance={"scalars": 0})
    events.Reload()
    return {e.step: e.value for e in events.Scalars(TAG)} if TAG in events.Tags()["scalars"] else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", type=Path, help="the run's logs/ folder")
    args = parser.parse_args()
    runs = {path.name: losses(path) for path in sorted(args.logs.glob("events.out.tfevents.*"))}
    for name, steps in runs.items():
        print(f"{name}: steps {min(steps, default=0)}-{max(steps, default=0)} ({len(steps)} logged)")
    for (a, first), (b, second) in itertools.combinations(runs.items(), 2):
        shared = sorted(set(first) & set(second))
        if shared:
            worst = max(abs(first[s] - second[s]) for s in shared)
            print(f"{a} and {b}: both logged steps {shared[0]}-{shared[-1]} ({len(shared)} "
                  f"values); largest |difference| of {TAG}: {worst:.3g}")


if __name__ == "__main__":
    main()
