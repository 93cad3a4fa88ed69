"""The shipped voice's tables and plot (docs/results/voice_2026-12-08), from its script
(egs/ljspeech/local/voice.sh).

    python benchmarks/voice_report.py egs/ljspeech/exp/voice [--csv DIR] [--plot PNG]
        [--choose OUT.yaml]

Comparison: one row per candidate (batch, peak learning rate) trained for one CPU budget, judged
on the first 30 val sentences. Curve: one row per kept checkpoint and K, judged on the 100 val
sentences, with the training CPU-hours its checkpoint carries (the training clock) and each
K > 0 row's paired difference from μ alone of the same checkpoint on both judges. Tuning (the
final checkpoint's sampler grid on val) and test and unseen (judged once) when they exist.
`--choose`: the tuning rule of benchmarks/tune.py applied to the grid, written as a sampler
config. `--csv DIR`: the per-utterance scores behind every row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from pitch_sweep import _cells, _header, write_csv
from tune import choose, judged_mos, row

from tts_ebm import sampler_config
from tts_ebm.evaluation.metric_table import pick
from tts_ebm.evaluation.report import JUDGES, _versus_mu
from tts_ebm.training.clock import spent

PLOTTED = pick("wer", "dnsmos_p808", "distill_mos", "log_f0_rmse_cents")


def _judged(folder: Path) -> dict | None:
    path = folder / "eval" / "metrics.json"
    return {"metrics": json.loads(path.read_text(encoding="utf-8"))} if path.is_file() else None


def _ks(folder: Path) -> dict[str, dict]:
    """Setting name -> judged folder, K0 first."""
    found = {p.name: j for p in sorted(folder.glob("*")) if (j := _judged(p)) is not None}
    return dict(sorted(found.items(), key=lambda item: (item[0] != "K0", item[0])))


def compare_table(exp: Path) -> str:
    lines = _header(["candidate", "steps", "CPU-min", "val loss", "K"])
    for folder in sorted((exp / "compare").iterdir()):
        summary = folder / "train_summary.json"
        if not summary.is_file():
            continue
        train = json.loads(summary.read_text())
        settings = _ks(folder)
        mu = settings.get("K0")
        for name, judged in settings.items():
            versus = [_versus_mu(judged, mu, judge) for judge in JUDGES]
            lines.append("| " + " | ".join([
                folder.name, str(train["steps"]), f"{60 * train['cpu_hours_total']:.1f}",
                f"{train['final_val']['val/loss']:.2f}", name.removeprefix("K"),
                *_cells(judged), *versus]) + " |")
    return "\n".join(lines)


def curve_points(exp: Path) -> list[tuple[int, float, dict[str, dict]]]:
    """(step, training CPU-hours, {setting: judged}) of every judged checkpoint."""
    points = []
    steps = [p for p in (exp / "curve").iterdir() if p.name.isdigit()]
    for folder in sorted(steps, key=lambda p: int(p.name)):
        checkpoint = exp / "train" / "checkpoints" / f"step{int(folder.name):08d}.ckpt"
        clock = spent(torch.load(checkpoint, map_location="cpu", weights_only=True))
        points.append((int(folder.name), clock["cpu_seconds"] / 3600, _ks(folder)))
    return points


def curve_table(points: list[tuple[int, float, dict[str, dict]]], ceiling: dict | None) -> str:
    lines = _header(["steps", "CPU-h", "K"])
    if ceiling is not None:  # the val set's copy synthesis
        lines.append("| " + " | ".join(["copy synthesis", "–", "–", *_cells(ceiling), "–", "–"])
                     + " |")
    for step, hours, settings in points:
        mu = settings.get("K0")
        for name, judged in settings.items():
            versus = [_versus_mu(judged, mu, judge) for judge in JUDGES]
            lines.append("| " + " | ".join([str(step), f"{hours:.2f}", name.removeprefix("K"),
                                            *_cells(judged), *versus]) + " |")
    return "\n".join(lines)


def settings_table(folder: Path, title: str) -> str:
    settings = _ks(folder)
    mu = settings.get("K0")
    lines = [title, "", *_header(["setting"])]
    for name, judged in settings.items():
        versus = [_versus_mu(judged, mu, judge) for judge in JUDGES]
        lines.append("| " + " | ".join([name, *_cells(judged), *versus]) + " |")
    return "\n".join(lines)


def plot(points: list[tuple[int, float, dict[str, dict]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = PLOTTED
    figure, axes = plt.subplots(2, len(metrics), figsize=(4 * len(metrics), 6.5),
                                constrained_layout=True)
    for row_axes, (x_label, index) in zip(axes, (("training steps", 0), ("CPU-hours", 1))):
        for axis, metric in zip(row_axes, metrics):
            for setting in sorted({name for *_, settings in points for name in settings}):
                xs, ys, errors = [], [], []
                for point in points:
                    summary = (((point[2].get(setting) or {}).get("metrics") or {})
                               .get("summary") or {}).get(metric.key)
                    if summary and summary.get("mean") is not None:
                        xs.append(point[index])
                        ys.append(metric.shown(summary["mean"]))
                        errors.append(metric.shown(summary.get("ci95") or 0.0))
                axis.errorbar(xs, ys, yerr=errors, marker="o", capsize=3,
                              label="μ alone" if setting == "K0" else setting)
            axis.set(xlabel=x_label, title=metric.header)
            axis.grid(alpha=0.3)
    axes[0][0].legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def choose_setting(grid: Path, out: Path) -> str:
    """benchmarks/tune.py's rule over the grid's K > 0 settings (each folder's sampler.yaml,
    written by voice.sh); writes the chosen one's sampler config to `out`."""
    rows = []
    for name, judged in _ks(grid).items():
        if name == "K0":
            continue
        point = yaml.safe_load((grid / name / "sampler.yaml").read_text())["sampler"]
        sampler_config.read(grid / name / "sampler.yaml")  # checked as synthesis read it
        rows.append(row(name, point, judged["metrics"], {}))
    chosen = choose(rows)
    sampler_config.write(out, chosen["sampler"], {}, chosen["variant"],
                         comment=f"chosen on the 100 val sentences by benchmarks/tune.py's rule "
                                 f"(mean of the judges' MOS {judged_mos(chosen):.3f})")
    return chosen["variant"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exp_dir", type=Path, help="the voice's experiment folder")
    parser.add_argument("--csv", type=Path, default=None, help="folder for per-utterance CSVs")
    parser.add_argument("--plot", type=Path, default=None, help="the learning curve's PNG")
    parser.add_argument("--choose", type=Path, default=None,
                        help="write the tuning grid's choice as a sampler config here")
    args = parser.parse_args()
    exp = args.exp_dir
    if (exp / "compare").is_dir():
        print("## Comparison (first 30 val sentences)\n\n" + compare_table(exp) + "\n")
    points = curve_points(exp) if (exp / "curve").is_dir() else []
    if points:
        ceiling = _judged(exp / "curve" / "copy_synthesis")
        print("## Learning curve (100 val sentences)\n\n" + curve_table(points, ceiling) + "\n")
        if args.plot:
            plot(points, args.plot)
    for name, title in (("tune", "## Sampler settings of the final checkpoint (100 val)"),
                        ("test", "## Test (500 sentences, judged once)"),
                        ("unseen", "## Unseen sentences (never used for a choice)")):
        if (exp / name).is_dir():
            print(settings_table(exp / name, title) + "\n")
    if args.choose:
        print(f"chosen: {choose_setting(exp / 'tune', args.choose)} -> {args.choose}")
    if args.csv:
        for path in sorted(exp.glob("**/eval/metrics.json")):
            relative = path.parent.parent.relative_to(exp)
            metrics = json.loads(path.read_text(encoding="utf-8"))
            write_csv(metrics, args.csv / ("_".join(relative.parts) + ".csv"))


if __name__ == "__main__":
    main()
