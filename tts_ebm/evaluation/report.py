"""Recipe report: RESULTS.md and a quality-vs-steps plot from an experiment folder.

  python -m tts_ebm.evaluation.report --exp-dir egs/mini/exp [--out EXP/RESULTS.md] [--main-steps 4]

Reads the layout of docs/ARCHITECTURE.md — `EXP/<criterion>/train/train_summary.json`,
`EXP/<criterion>/synth_K<k>/rtf.json`, `EXP/<criterion>/eval_K<k>/metrics.json` — defensively:
whatever is missing or unreadable shows as "–" and is listed under "Missing", so a report can be
written while some runs are still going.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path

from tts_ebm.errors import UserInputError

PLOT_NAME = "quality_vs_steps.png"
_STEP_DIR = re.compile(r"^(synth|eval)_K(\d+)$")


def _read_json(path: Path, missing: list[str]) -> dict | None:
    if not path.is_file():
        missing.append(str(path))
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        warnings.warn(f"unreadable {path}: {error}", stacklevel=2)
        missing.append(f"{path} (unreadable)")
        return None
    return data if isinstance(data, dict) else None


def collect(exp_dir: str | Path) -> tuple[dict[str, dict], list[str]]:
    """`{criterion: {"train": summary|None, "steps": {k: {"rtf", "metrics"}}}}` and what is missing."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        raise FileNotFoundError(f"experiment folder not found: {exp_dir}")
    runs: dict[str, dict] = {}
    missing: list[str] = []
    for folder in sorted(p for p in exp_dir.iterdir() if p.is_dir()):
        ks = sorted({int(m.group(2)) for p in folder.iterdir() if (m := _STEP_DIR.match(p.name))})
        if not ks and not (folder / "train").is_dir():
            continue  # logs/, listening_test/, …
        runs[folder.name] = {
            "train": _read_json(folder / "train" / "train_summary.json", missing),
            "steps": {
                k: {
                    "rtf": _read_json(folder / f"synth_K{k}" / "rtf.json", missing),
                    "metrics": _read_json(folder / f"eval_K{k}" / "metrics.json", missing),
                }
                for k in ks
            },
        }
    if not runs:
        raise UserInputError(
            f"no experiment runs in {exp_dir}: expected <criterion>/train or <criterion>/eval_K<k>"
        )
    return runs, missing


def _summary(step: dict | None, name: str) -> dict | None:
    metrics = (step or {}).get("metrics") or {}
    row = (metrics.get("summary") or {}).get(name)
    return row if isinstance(row, dict) and row.get("mean") is not None else None


def _cell(row: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if row is None:
        return "–"
    text = f"{row['mean'] * scale:.{digits}f}"
    return text + (f" ± {row['ci95'] * scale:.{digits}f}" if row.get("ci95") is not None else "")


def _number(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def _wall_time(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return "–"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _metric_cells(step: dict | None) -> list[str]:
    rtf = ((step or {}).get("rtf") or {}).get("rtf")
    return [
        _cell(_summary(step, "mcd_db")),
        _cell(_summary(step, "log_f0_rmse_cents"), digits=1),
        _cell(_summary(step, "vuv_error_rate"), scale=100.0, digits=1),
        _cell(_summary(step, "duration_ratio"), digits=3),
        _number(rtf),
    ]


def default_main_steps(runs: dict[str, dict]) -> int | None:
    """The largest K evaluated by any criterion (used when the recipe does not say)."""
    ks = [k for run in runs.values() for k in run["steps"]]
    return max(ks) if ks else None


def render_markdown(
    runs: dict[str, dict], missing: list[str], main_steps: int | None, plot_name: str | None
) -> str:
    """RESULTS.md text: main table at K = main_steps, table over all K, plot, conventions."""
    header = ("| MCD [dB] | log-F0 RMSE [cents] | V/UV error [%] | duration ratio "
              "| RTF |")
    lines = [
        "# Results",
        "",
        ("Objective metrics on the test set: mean ± 95 % t-interval over utterances. MCD and "
        "F0 are DTW-aligned against the reference recordings; RTF = synthesis time / audio "
        "duration (acoustic model + vocoder)."),
        "",
        f"## Main comparison (K = {main_steps} inference steps)",
        "",
        ("The last column is the MCD of the same model's prior mean μ alone (K = 0, "
         "temperature 0): the energy is worth its steps where the K column beats it."),
        "",
        f"| criterion {header} training steps | training wall time | n | MCD of μ (K = 0) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        step = run["steps"].get(main_steps)
        train = run["train"] or {}
        n = ((step or {}).get("metrics") or {}).get("counts", {}).get("evaluated")
        lines.append(
            f"| {name} | " + " | ".join(_metric_cells(step))
            + f" | {train.get('steps', '–')} | {_wall_time(train.get('wall_time_s'))}"
            + f" | {n if n is not None else '–'}"
            + f" | {_cell(_summary(run['steps'].get(0), 'mcd_db'))} |"
        )
    lines += ["", "## All inference steps", "", f"| criterion | K {header}",
              "|---|---|---|---|---|---|---|"]
    for name, run in runs.items():
        for k, step in sorted(run["steps"].items()):
            lines.append(f"| {name} | {k} | " + " | ".join(_metric_cells(step)) + " |")
    if plot_name:
        lines += ["", f"![MCD vs inference steps]({plot_name})"]
    settings = next(
        (
            s["metrics"]["settings"]
            for run in runs.values()
            for s in run["steps"].values()
            if s["metrics"] and isinstance(s["metrics"].get("settings"), dict)
        ),
        None,
    )
    if settings:
        lines += ["", "## Metric settings", "",
                  ", ".join(f"{key}={value}" for key, value in settings.items())]
    if missing:
        lines += ["", "## Missing", "", *(f"- {path}" for path in missing)]
    return "\n".join(lines) + "\n"


def plot_quality_vs_steps(runs: dict[str, dict], path: Path) -> bool:
    """MCD (with 95 % CI bars) against K per criterion; False when there is nothing to plot."""
    series = {
        name: [(k, row) for k, step in sorted(run["steps"].items())
               if (row := _summary(step, "mcd_db"))]
        for name, run in runs.items()
    }
    series = {name: points for name, points in series.items() if points}
    if not series:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in series.items():
        ks = [k for k, _ in points]
        ax.errorbar(ks, [r["mean"] for _, r in points], yerr=[r.get("ci95") or 0 for _, r in points],
                    marker="o", capsize=3, label=name)
    ks = sorted({k for points in series.values() for k, _ in points})
    ax.set_xscale("symlog", linthresh=1)  # log-like for K >= 1, and K = 0 (mu alone) fits
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("inference steps K")
    ax.set_ylabel("MCD [dB] (lower is better)")
    ax.grid(alpha=0.3)
    ax.legend(title="criterion")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_report(
    exp_dir: str | Path, out: str | Path | None = None, main_steps: int | None = None
) -> Path:
    """Write RESULTS.md (default EXP/RESULTS.md) and the plot next to it; returns the .md path."""
    exp_dir = Path(exp_dir)
    runs, missing = collect(exp_dir)
    main_steps = main_steps if main_steps is not None else default_main_steps(runs)
    out = Path(out) if out else exp_dir / "RESULTS.md"
    plotted = plot_quality_vs_steps(runs, out.parent / PLOT_NAME)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(runs, missing, main_steps, PLOT_NAME if plotted else None),
                   encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tts_ebm.evaluation.report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--exp-dir", type=Path, required=True, help="recipe experiment folder")
    parser.add_argument("--out", type=Path, default=None, help="default: EXP/RESULTS.md")
    parser.add_argument("--main-steps", type=int, default=None,
                        help="K of the main table (default: the largest K evaluated)")
    args = parser.parse_args(argv)
    try:
        out = write_report(args.exp_dir, args.out, args.main_steps)
    except (UserInputError, FileNotFoundError) as error:
        print(f"report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
