"""Recipe report: RESULTS.md and two figures from an experiment folder.

  python -m tts_ebm.evaluation.report --exp-dir egs/mini/exp [--out EXP/RESULTS.md] [--main-steps 4] [--pairs A:B ...]

Reads the layout of docs/ARCHITECTURE.md — the ceiling rows `EXP/reference/eval/metrics.json`
(the recordings themselves, when the recipe judged them) and `EXP/copy_synthesis/{synth/rtf.json,eval/metrics.json}` (the
reference mels through the systems' vocoder), then per criterion
`EXP/<criterion>/train/train_summary.json`, `EXP/<criterion>/synth_K<k>/rtf.json` and
`EXP/<criterion>/eval_K<k>/metrics.json` — defensively: whatever is missing or unreadable
(a run still going, an old metrics.json without WER or DNSMOS) shows as "–", and missing files
are listed under "Missing". Figures: `quality_vs_steps.png` (quality against K) and
`quality_vs_time.png` (WER and DNSMOS P.808 against acoustic-model wall time per second of
audio, from rtf.json's `acoustic_seconds`), the ceiling rows drawn as horizontal lines.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from pathlib import Path

from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.metric_table import Metric, pick
from tts_ebm.statistics import paired_difference

STEPS_PLOT = "quality_vs_steps.png"
TIME_PLOT = "quality_vs_time.png"
CEILINGS = {"reference": "reference recordings", "copy_synthesis": "copy synthesis"}
CEILING_STYLES = {"reference": "--", "copy_synthesis": ":"}
_STEP_DIR = re.compile(r"^(synth|eval)_K(\d+)$")
# the metrics of each table and figure (labels, units, scales, directions: metric_table.py)
MAIN_COLUMNS = pick("wer", "dnsmos_p808", "distill_mos", "mel_fd", "mcd_db",
                    "log_f0_rmse_cents", "gross_pitch_error_rate", "vuv_error_rate")
MEL_COLUMNS = pick("mel_fd", "mel_mcd_db", "gv_ratio", "roughness_ratio", "duration_ratio")
STEPS_PLOTTED = pick("wer", "dnsmos_p808", "distill_mos", "mel_fd", "mcd_db")  # against K
TIME_PLOTTED = pick("wer", "dnsmos_p808", "distill_mos")  # against acoustic-model time
# the sanity check's judges: each system against its own μ, on both MOS predictors
JUDGES = pick("dnsmos_p808", "distill_mos")
VERSUS_MU = [f"{judge.label.removeprefix('DNSMOS ')} vs μ" for judge in JUDGES]  # their headers
# system against system (--pairs): Sun & Ragni's metrics (MCD, log-F0, MOS predictors) and WER
PAIRED_COLUMNS = pick("wer", "dnsmos_p808", "distill_mos", "mcd_db", "log_f0_rmse_cents")


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


def collect(exp_dir: str | Path) -> tuple[dict[str, dict], dict[str, dict], list[str]]:
    """Ceiling rows `{folder: {"rtf", "metrics"}}`, runs `{criterion: {"train": summary|None,
    "steps": {k: {"rtf", "metrics"}}}}`, and what is missing."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():
        raise FileNotFoundError(f"experiment folder not found: {exp_dir}")
    runs: dict[str, dict] = {}
    missing: list[str] = []
    for folder in sorted(p for p in exp_dir.iterdir() if p.is_dir() and p.name not in CEILINGS):
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
    ceilings = {}
    if (exp_dir / "reference" / "eval").is_dir():  # absent when the recipe did not judge them
        ceilings["reference"] = {
            "rtf": None,
            "metrics": _read_json(exp_dir / "reference" / "eval" / "metrics.json", missing),
        }
    ceilings |= {
        "copy_synthesis": {
            "rtf": _read_json(exp_dir / "copy_synthesis" / "synth" / "rtf.json", missing),
            "metrics": _read_json(exp_dir / "copy_synthesis" / "eval" / "metrics.json", missing),
        },
    }
    return ceilings, runs, missing


def _summary(system: dict | None, name: str) -> dict | None:
    metrics = (system or {}).get("metrics") or {}
    row = (metrics.get("summary") or {}).get(name)
    return row if isinstance(row, dict) and isinstance(row.get("mean"), (int, float)) else None


def _cell(row: dict | None, metric: Metric) -> str:
    if row is None:
        return "–"
    ci95 = row.get("ci95")
    return metric.format(row["mean"], ci95 if isinstance(ci95, (int, float)) else None)


def _rtf(system: dict | None, key: str = "rtf") -> float | None:
    value = ((system or {}).get("rtf") or {}).get(key)
    return value if isinstance(value, (int, float)) else None


def _number(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def _count(system: dict | None) -> str:
    n = (((system or {}).get("metrics") or {}).get("counts") or {}).get("evaluated")
    return str(n) if n is not None else "–"


def _wall_time(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return "–"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _row(label: list[str], system: dict | None, columns: tuple[Metric, ...], extra: list[str]) -> str:
    cells = label + [_cell(_summary(system, c.key), c) for c in columns] + extra
    return "| " + " | ".join(cells) + " |"


def _header(first: list[str], columns: tuple[Metric, ...], extra: list[str]) -> list[str]:
    names = first + [c.header for c in columns] + extra
    return ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]


def default_main_steps(runs: dict[str, dict]) -> int | None:
    """The largest K evaluated by any criterion (used when the recipe does not say)."""
    ks = [k for run in runs.values() for k in run["steps"]]
    return max(ks) if ks else None


def main_step_of(run: dict, main_steps: int | None) -> int | None:
    """The K of a run's main-table row: main_steps when it was evaluated, else the run's only
    K > 0 (a benchmark run judged at its tuned K alone, recipes/tts.sh --chosen)."""
    if main_steps in run["steps"]:
        return main_steps
    positive = [k for k in run["steps"] if k > 0]
    return positive[0] if len(positive) == 1 else None


def _settings(ceilings: dict[str, dict], runs: dict[str, dict]) -> dict | None:
    """The richest metric settings found (a model evaluation also records the mel metrics')."""
    found = [s["metrics"]["settings"] for s in [*(step for run in runs.values()
                                                  for step in run["steps"].values()),
                                                 *ceilings.values()]
             if s["metrics"] and isinstance(s["metrics"].get("settings"), dict)]
    return max(found, key=len) if found else None


def render_markdown(
    ceilings: dict[str, dict],
    runs: dict[str, dict],
    missing: list[str],
    main_steps: int | None,
    plots: list[str],
    pairs: list[tuple[str, str]] = (),
) -> str:
    """RESULTS.md text: ceiling rows first, then the main table at K = main_steps, the mel
    statistics and every K, training, figures, settings, missing files."""
    lines = [
        "# Results",
        "",
        ("Test set; mean ± 95 % interval over utterances. The first two rows are ceilings: the "
         "reference recordings themselves (only WER and DNSMOS apply) and copy synthesis, the "
         "reference mels through the systems' vocoder — what a perfect acoustic model would "
         "score. WER: pocketsphinx corpus WER (word errors / reference words, delta-method "
         "interval). DNSMOS P.808 and Distill-MOS: two predicted MOS (1–5, higher is better; "
         "P.808 was trained on noise suppression, Distill-MOS on speech quality broadly, and "
         "they can disagree). mel FD: Fréchet "
         "distance between the generated and reference 5-frame log-mel patches, a set-level "
         "number ± 1.96 bootstrap standard errors over utterances (0 = the data's patch "
         "statistics). MCD, log-F0 RMSE, gross pitch error (GPE) and V/UV error are DTW-aligned "
         "against the recordings. RTF = synthesis time / audio duration (acoustic model + "
         "vocoder; copy synthesis: vocoder alone)."),
        "",
        f"## Main comparison (K = {main_steps} inference steps, or a system's only K > 0)",
        "",
        ("Each system after its prior mean μ alone (K = 0, temperature 0), the baseline its "
         "energy must beat. P.808 vs μ, Distill-MOS vs μ: the paired 95 % interval of the "
         "per-sentence difference from that μ (above 0 on both: the steps are worth their "
         "time)."),
        "",
        *_header(["system", "K"], MAIN_COLUMNS, [*VERSUS_MU, "RTF", "n"]),
    ]
    for name, system in ceilings.items():
        lines.append(_row([CEILINGS[name], "–"], system, MAIN_COLUMNS,
                          ["–"] * len(JUDGES) + [_number(_rtf(system)), _count(system)]))
    for name, run in runs.items():
        k = main_step_of(run, main_steps)
        step, mu = run["steps"].get(k), run["steps"].get(0)
        if mu is not None and k != 0:
            lines.append(_row([f"{name}, μ alone", "0"], mu, MAIN_COLUMNS,
                              ["–"] * len(JUDGES) + [_number(_rtf(mu)), _count(mu)]))
        versus = [_versus_mu(step, mu, judge) for judge in JUDGES]
        lines.append(_row([name, str(k) if k is not None else "–"], step, MAIN_COLUMNS,
                          versus + [_number(_rtf(step)), _count(step)]))

    if pairs:
        lines += _paired_section(runs, pairs, main_steps)

    lines += ["", "## Mel statistics of the acoustic model (no vocoder)", "",
              ("Generated log-mels against the test set's reference mels. GV ratio: per-bin "
               "variance over time, generated / reference (< 1 over-smoothed); roughness ratio: "
               "mean squared frame-to-frame difference, generated / reference; both 1 for "
               "data-like texture. mel MCD: DTW-aligned cepstral distortion of the log-mels."),
              "", *_header(["criterion", "K"], MEL_COLUMNS, [])]
    for name, run in runs.items():
        for k, step in sorted(run["steps"].items()):
            lines.append(_row([name, str(k)], step, MEL_COLUMNS, []))

    lines += ["", "## All inference steps", "",
              ("K = 0 is the prior mean μ alone (temperature 0): the energy is worth its steps "
               "where a K row beats it. Acoustic RTF: acoustic-model time / audio duration."),
              "", *_header(["system", "K"], MAIN_COLUMNS, ["RTF", "acoustic RTF"])]
    for name, system in ceilings.items():
        lines.append(_row([CEILINGS[name], "–"], system, MAIN_COLUMNS, [_number(_rtf(system)), "–"]))
    for name, run in runs.items():
        for k, step in sorted(run["steps"].items()):
            acoustic = _acoustic_rtf(step)
            lines.append(_row([name, str(k)], step, MAIN_COLUMNS,
                              [_number(_rtf(step)), _number(acoustic, 4)]))

    lines += ["", "## Training", "", "| criterion | training steps | training wall time |",
              "|---|---|---|"]
    for name, run in runs.items():
        train = run["train"] or {}
        lines.append(f"| {name} | {train.get('steps', '–')} | {_wall_time(train.get('wall_time_s'))} |")
    for plot in plots:
        lines += ["", f"![{plot.removesuffix('.png').replace('_', ' ')}]({plot})"]
    settings = _settings(ceilings, runs)
    if settings:
        lines += ["", "## Metric settings", "",
                  ", ".join(f"{key}={value}" for key, value in settings.items())]
    if missing:
        lines += ["", "## Missing", "", *(f"- {path}" for path in missing)]
    return "\n".join(lines) + "\n"


def _versus_mu(step: dict | None, mu: dict | None, judge: Metric) -> str:
    """The paired difference in `judge` of a K row from its μ row, "–" without both."""
    metrics = [(s or {}).get("metrics") or {} for s in (step, mu)]
    if step is mu or not all(m.get("utterances") for m in metrics):
        return "–"
    diff = paired_difference(*metrics, judge.key)
    if diff["mean"] is None or diff["ci95"] is None:
        return "–"
    return f"{diff['mean']:+.2f} ± {diff['ci95']:.2f}"


def _paired_section(runs: dict[str, dict], pairs: list[tuple[str, str]],
                    main_steps: int | None) -> list[str]:
    """Rows "A − B": per-sentence paired 95 % intervals of A's main row minus B's, which
    separate two systems whose own intervals (sentence variance included) overlap."""
    directions = ", ".join(f"{c.label} {c.better.value}" for c in PAIRED_COLUMNS)
    lines = ["", "## Paired differences between systems", "",
             (f"A − B over the sentences both systems scored, each at its main-table K; mean ± "
              f"95 % t-interval of the per-sentence differences (WER: word errors over the "
              f"mean reference length, so the mean is the difference of corpus WERs). Better: "
              f"{directions}."),
             "", *_header(["A − B"], PAIRED_COLUMNS, ["n"])]
    for a, b in pairs:
        steps = [runs[name]["steps"].get(main_step_of(runs[name], main_steps)) if name in runs
                 else None for name in (a, b)]
        metrics = [(step or {}).get("metrics") or {} for step in steps]
        judged = all(m.get("utterances") for m in metrics)
        cells, n = [], "–"
        for column in PAIRED_COLUMNS:
            diff = paired_difference(*metrics, column.key) if judged else {}
            if diff.get("ci95") is None:
                cells.append("–")
                continue
            digits, n = column.digits, str(diff["n"])
            cells.append(f"{column.shown(diff['mean']):+.{digits}f} ± "
                         f"{column.shown(diff['ci95']):.{digits}f}")
        lines.append("| " + " | ".join([f"{a} − {b}", *cells, n]) + " |")
    return lines


def _acoustic_rtf(step: dict | None) -> float | None:
    """Acoustic-model seconds per second of audio; None for an rtf.json that lacks them."""
    seconds, audio = _rtf(step, "acoustic_seconds"), _rtf(step, "audio_seconds")
    return seconds / audio if seconds is not None and audio else None


def _ceiling_lines(ax, ceilings: dict[str, dict], column: Metric) -> None:
    """The ceiling rows as horizontal lines (dashed: recordings, dotted: copy synthesis)."""
    for name, system in ceilings.items():
        if (row := _summary(system, column.key)) is not None:
            ax.axhline(column.shown(row["mean"]), color="0.3", linestyle=CEILING_STYLES[name],
                       label=CEILINGS[name])


def _figure(panels: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.2), squeeze=False)
    return plt, fig, axes[0]


def _save(plt, fig, path: Path) -> None:
    """One legend for all panels (every criterion and ceiling once), below them."""
    entries: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    fig.legend(entries.values(), entries.keys(), loc="lower center", ncol=min(len(entries), 6),
               fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_quality_vs_steps(ceilings: dict[str, dict], runs: dict[str, dict], path: Path) -> bool:
    """WER, P.808, mel FD and MCD (95 % bars) against K per criterion, one panel per metric
    with data; False when there is nothing to plot."""
    panels = []
    for column in STEPS_PLOTTED:
        series = {name: [(k, row) for k, step in sorted(run["steps"].items())
                         if (row := _summary(step, column.key))]
                  for name, run in runs.items()}
        series = {name: points for name, points in series.items() if points}
        if series:
            panels.append((column, series))
    if not panels:
        return False
    plt, fig, axes = _figure(len(panels))
    colours = {name: f"C{i}" for i, name in enumerate(runs)}  # one colour per criterion
    for ax, (column, series) in zip(axes, panels):
        for name, points in series.items():
            ax.errorbar([k for k, _ in points], [column.shown(r["mean"]) for _, r in points],
                        yerr=[column.shown(r.get("ci95") or 0) for _, r in points],
                        marker="o", capsize=3, label=name, color=colours[name])
        _ceiling_lines(ax, ceilings, column)
        ks = sorted({k for points in series.values() for k, _ in points})
        ax.set_xscale("symlog", linthresh=1)  # log-like for K >= 1, and K = 0 (mu alone) fits
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
        ax.set(xlabel="inference steps K", ylabel=column.axis_label)
        ax.grid(alpha=0.3)
    _save(plt, fig, path)
    return True


def plot_quality_vs_time(ceilings: dict[str, dict], runs: dict[str, dict], path: Path) -> bool:
    """WER and P.808 against acoustic-model time per second of audio, one line per criterion
    through its K; False when no run has both a quality and an acoustic time."""
    panels = []
    for column in TIME_PLOTTED:
        series = {name: [(t, k, row) for k, step in sorted(run["steps"].items())
                         if (row := _summary(step, column.key)) and (t := _acoustic_rtf(step))]
                  for name, run in runs.items()}
        panels.append((column, {name: points for name, points in series.items() if points}))
    if not any(series for _, series in panels):
        return False
    plt, fig, axes = _figure(2)
    colours = {name: f"C{i}" for i, name in enumerate(runs)}
    for ax, (column, series) in zip(axes, panels):
        for name, points in series.items():
            ax.errorbar([t for t, _, _ in points], [column.shown(r["mean"]) for _, _, r in points],
                        yerr=[column.shown(r.get("ci95") or 0) for _, _, r in points],
                        marker="o", capsize=3, label=name, color=colours[name])
            for t, k, row in points:
                ax.annotate(f"K={k}", (t, column.shown(row["mean"])), fontsize="x-small",
                            textcoords="offset points", xytext=(4, 4))
        _ceiling_lines(ax, ceilings, column)
        longest = max((t for points in series.values() for t, _, _ in points), default=1.0)
        ax.set_xlim(0, 1.15 * longest)  # linear from 0: time grows linearly with K
        ax.set(xlabel="acoustic-model wall time per second of audio [s]", ylabel=column.axis_label)
        ax.grid(alpha=0.3)
    _save(plt, fig, path)
    return True


def write_report(
    exp_dir: str | Path, out: str | Path | None = None, main_steps: int | None = None,
    pairs: list[tuple[str, str]] = (),
) -> Path:
    """Write RESULTS.md (default EXP/RESULTS.md) and the figures next to it; returns the .md path."""
    exp_dir = Path(exp_dir)
    ceilings, runs, missing = collect(exp_dir)
    main_steps = main_steps if main_steps is not None else default_main_steps(runs)
    out = Path(out) if out else exp_dir / "RESULTS.md"
    plots = [name for name, plot in ((STEPS_PLOT, plot_quality_vs_steps),
                                     (TIME_PLOT, plot_quality_vs_time))
             if plot(ceilings, runs, out.parent / name)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_markdown(ceilings, runs, missing, main_steps, plots, pairs), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tts_ebm.evaluation.report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--exp-dir", type=Path, required=True, help="recipe experiment folder")
    parser.add_argument("--out", type=Path, default=None, help="default: EXP/RESULTS.md")
    parser.add_argument("--main-steps", type=int, default=None,
                        help="K of the main table (default: the largest K evaluated)")
    parser.add_argument("--pairs", nargs="*", default=[], metavar="A:B",
                        help="systems to compare sentence by sentence (A minus B, each at its "
                             "main-table K), e.g. delta:nce delta:delta_seed2")
    args = parser.parse_args(argv)
    pairs = [tuple(pair.split(":")) for pair in args.pairs]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        parser.error(f"--pairs wants A:B, got {' '.join(args.pairs)}")
    try:
        out = write_report(args.exp_dir, args.out, args.main_steps, pairs)
    except (UserInputError, FileNotFoundError) as error:
        print(f"report: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
