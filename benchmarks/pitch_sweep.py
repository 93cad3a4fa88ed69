"""The pitch sweep's tables (docs/results/pitch_sweep_2026-12-07), from its script
(egs/mini/local/pitch_sweep.sh).

    python benchmarks/pitch_sweep.py egs/mini/exp/pitch_sweep [--grid SYSTEM ...]
        [--unseen SYSTEM ...] [--csv DIR]

Design table: one row per variance-adaptor design and K (0: μ alone), with parameters, training
steps per second, WER, both MOS judges, log-F0 RMSE, mel FD, GV ratio, and each K > 0 row's
paired difference from its own μ on both judges; the ceilings (recordings, copy synthesis)
first. `--grid SYSTEM`: a table of that system's sampler settings (exp/SYSTEM/grid/<setting>/),
each with its paired difference from the system's μ alone; `--unseen SYSTEM`: the same on the
unseen sentences (exp/SYSTEM/unseen/<setting>/, against unseen/K0). `--csv DIR`: the
per-utterance scores behind every row, one CSV per row (`<design>_K<k>.csv`,
`<system>_grid_<setting>.csv`, `<system>_unseen_<setting>.csv`, the ceilings), so that every
mean and interval can be recomputed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from frame_sweep import parameters

from tts_ebm.evaluation.metric_table import Source, keys, pick
from tts_ebm.evaluation.report import (
    JUDGES,
    VERSUS_MU,
    _cell,
    _summary,
    _versus_mu,
    collect,
)

COLUMNS = pick("wer", "dnsmos_p808", "distill_mos", "log_f0_rmse_cents", "mel_fd", "gv_ratio")
# per-utterance fields in the CSVs (WER as its word errors and reference words: the corpus WER
# is their ratio of sums)
CSV_FIELDS = ("word_errors", "reference_words", "asr_hypothesis",
              *keys(Source.WAVEFORM, Source.DNSMOS, Source.DISTILL_MOS, Source.MEL))


def _cells(system: dict | None) -> list[str]:
    return [_cell(_summary(system, c.key), c) for c in COLUMNS]


def _header(first: list[str]) -> list[str]:
    header = first + [c.header for c in COLUMNS] + VERSUS_MU
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]


def design_table(exp_dir: Path) -> str:
    ceilings, runs, _ = collect(exp_dir)
    lines = _header(["design", "params", "steps/s", "K"])
    for name, system in ceilings.items():
        lines.append("| " + " | ".join([name.replace("_", " "), "–", "–", "–", *_cells(system),
                                        "–", "–"]) + " |")
    for name, run in runs.items():
        train = run["train"] or {}
        rate = f"{train['steps'] / train['wall_time_s']:.2f}" if train.get("wall_time_s") else "–"
        n_params = parameters(exp_dir / name / "train")
        shown = f"{n_params / 1e6:.2f} M" if n_params else "–"
        mu = run["steps"].get(0)
        for k, step in sorted(run["steps"].items()):
            versus = [_versus_mu(step, mu, judge) for judge in JUDGES]
            lines.append("| " + " | ".join([name, shown, rate, str(k), *_cells(step), *versus])
                         + " |")
    return "\n".join(lines)


def _judged(folder: Path) -> dict | None:
    path = folder / "eval" / "metrics.json"
    return {"metrics": json.loads(path.read_text(encoding="utf-8"))} if path.is_file() else None


def settings_table(exp_dir: Path, system: str, sentences: str) -> str:
    """`system`'s sampler settings on the dev sentences (its `grid/` folder, against its μ alone
    of the design table) or on the unseen ones (its `unseen/` folder, against `unseen/K0`)."""
    if sentences == "grid":
        _, runs, _ = collect(exp_dir)
        mu = runs[system]["steps"].get(0)
        title = f"Sampler settings of `{system}` on dev (step size 1/K unless said):"
    else:
        mu = _judged(exp_dir / system / "unseen" / "K0")
        title = f"`{system}` on the unseen sentences:"
    lines = [title, "", *_header(["setting"])]
    lines.append("| " + " | ".join(["μ alone (K = 0, τ = 0)", *_cells(mu), "–", "–"]) + " |")
    for folder in sorted((exp_dir / system / sentences).iterdir()):
        step = _judged(folder)
        if step is None or folder.name == "K0":
            continue
        versus = [_versus_mu(step, mu, judge) for judge in JUDGES]
        lines.append("| " + " | ".join([folder.name, *_cells(step), *versus]) + " |")
    return "\n".join(lines)


def write_csv(metrics: dict | None, path: Path) -> None:
    """One row per utterance of a metrics.json; fields it lacks are left empty."""
    utterances = (metrics or {}).get("utterances") or {}
    if not utterances:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("id", *CSV_FIELDS))
        for utt_id, row in sorted(utterances.items()):
            writer.writerow((utt_id, *(row.get(field, "") for field in CSV_FIELDS)))


def write_csvs(exp_dir: Path, grids: list[str], unseen: list[str], out: Path) -> None:
    ceilings, runs, _ = collect(exp_dir)
    for name, system in ceilings.items():
        write_csv((system or {}).get("metrics"), out / f"{name}.csv")
    for name, run in runs.items():
        for k, step in run["steps"].items():
            write_csv((step or {}).get("metrics"), out / f"{name}_K{k}.csv")
    for sentences, systems in (("grid", grids), ("unseen", unseen)):
        for system in systems:
            for path in sorted((exp_dir / system / sentences).glob("*/eval/metrics.json")):
                metrics = json.loads(path.read_text(encoding="utf-8"))
                write_csv(metrics, out / f"{system}_{sentences}_{path.parent.parent.name}.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_dir", type=Path, help="the sweep's experiment folder")
    parser.add_argument("--grid", nargs="*", default=[], help="systems with a sampler grid")
    parser.add_argument("--unseen", nargs="*", default=[],
                        help="systems judged on the unseen sentences (pitch_sweep.sh --unseen)")
    parser.add_argument("--csv", type=Path, default=None, help="folder for per-utterance CSVs")
    args = parser.parse_args()
    if args.csv is not None:
        write_csvs(args.exp_dir, args.grid, args.unseen, args.csv)
    print(design_table(args.exp_dir))
    for system in args.grid:
        print("\n" + settings_table(args.exp_dir, system, "grid"))
    for system in args.unseen:
        print("\n" + settings_table(args.exp_dir, system, "unseen"))


if __name__ == "__main__":
    main()
