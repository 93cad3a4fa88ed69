"""The frame-network / prior sweep table of issue 20, from recipe experiments on a held-out set.

Each design is one training config (`<conf_dir>/<name>.yaml`) run by the recipe as if it were a
criterion, and synthesised and judged on the `dev` set of data_prep/heldout.py (sentences in no
test set), e.g.

    python -m data_prep.heldout --set dev --out DEV
    tts-ebm prepare features --manifest-dir DEV/manifests --out DEV/dump
    recipes/tts.sh --stage 2 --stop_stage 6 --data_dir ... --dump_dir DEV/dump --exp_dir EXP \\
        --conf_dir CONFS --criteria "base dec unet decunet" \\
        --train_args "data.dump_dir=egs/mini/dump" --inference_steps "0 2" --vocoder hifigan-lj
    python benchmarks/frame_sweep.py EXP [EXP ...]

One row per design and K: parameters (from the checkpoint), training steps per second on one
CPU thread (steps / training wall time, machine as it was), WER, DNSMOS P.808, mel FD,
roughness and GV ratios with 95 % intervals; the ceilings (recordings, copy synthesis) first.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tts_ebm.evaluation.metric_table import pick
from tts_ebm.evaluation.report import _cell, _summary, collect
from tts_ebm.training.checkpoint import read_checkpoint

COLUMNS = pick("wer", "dnsmos_p808", "mel_fd", "roughness_ratio", "gv_ratio")


def parameters(train_dir: Path) -> int | None:
    """Parameters of the EMA model in the run's last checkpoint."""
    path = train_dir / "checkpoints" / "last.ckpt"
    if not path.is_file():
        return None
    state = read_checkpoint(path)["tts_ebm"]["ema_state_dict"]
    return sum(v.numel() for k, v in state.items() if k != "n_averaged")


def table(exp_dirs: list[Path]) -> str:
    header = ["design", "params", "steps/s", "K"] + [c.header for c in COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for i, exp_dir in enumerate(exp_dirs):
        ceilings, runs, _ = collect(exp_dir)
        if i == 0:
            for name, system in ceilings.items():
                cells = [name.replace("_", " "), "–", "–", "–"]
                lines.append("| " + " | ".join(cells + [_cell(_summary(system, c.key), c)
                                                         for c in COLUMNS]) + " |")
        for name, run in runs.items():
            train = run["train"] or {}
            rate = (f"{train['steps'] / train['wall_time_s']:.2f}"
                    if train.get("wall_time_s") else "–")
            n_params = parameters(exp_dir / name / "train")
            shown = f"{n_params / 1e6:.2f} M" if n_params else "–"
            for k, step in sorted(run["steps"].items()):
                cells = [name, shown, rate, str(k)]
                cells += [_cell(_summary(step, c.key), c) for c in COLUMNS]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_dirs", nargs="+", type=Path, help="recipe experiment folders")
    print(table(parser.parse_args().exp_dirs))


if __name__ == "__main__":
    main()
