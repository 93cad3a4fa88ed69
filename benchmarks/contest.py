"""The contest of issue 12: energy (delta, dsm) against the velocity-field peer (fm) at equal size,
equal training compute and equal acoustic-model wall time.

On one feature dump, in one run on one machine:
1. checks that the configs <conf-dir>/<criterion>.yaml give acoustic models of equal parameter
   count (within --param-tolerance of the first criterion's; fails otherwise);
2. trains each for the same --steps (`tts-ebm train`, overrides data.dump_dir and
   trainer.max_steps), or reads the runs of --exp-dir as they were trained (the recipe's
   --budget_steps gives each its share of equal compute: the table states each one's steps);
3. times the acoustic model alone (text encoder, durations, K steps of the checkpoint's sampler,
   with the system's --sampler-config) on every test utterance, all systems and K interleaved in one process with
   torch.set_num_threads(--threads), best of --repeats passes;
4. synthesises the test set at each K (`tts-ebm synthesize --save-mel --seed 0` and the system's
   --sampler-config, e.g. its temperature chosen on a tuning set) and evaluates
   it (`tts-ebm evaluate`: WER, DNSMOS P.808, mel_fd against the dump's mels, MCD with
   --test-ref);
5. writes OUT/contest.json, OUT/CONTEST.md (every row; per metric the best K of each system;
   equal-time pairs: each system at its --chosen K, or every K of the first system, against
   every other system at the K whose acoustic wall time is nearest) and OUT/contest.png
   (quality against acoustic-model wall time, 95 % intervals).
Finished steps are kept (train_summary.json, .done markers, the timings in contest.json unless
--retime): rerunning continues. A recipe's experiment folder has the same layout
(<criterion>/train, synth_K<k>, eval_K<k>), so `--exp-dir` pointed at it (stage 9 of
recipes/tts.sh) reuses its runs and only adds the timing.

  .venv/bin/python benchmarks/contest.py --dump egs/mini/dump/mini \\
      --test-ref egs/mini/dump/mini/test_ref_wavs --conf-dir egs/mini/conf --out exp/contest \\
      --steps 1500 --vocoder hifigan-lj
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

from tts_ebm import Synthesizer, sampler_config
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.evaluation.metric_table import Metric, pick
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.config import load_config

SAMPLE_RATE, HOP = 22050, 256
# labels, units, directions: the table
METRICS = pick("wer", "dnsmos_p808", "distill_mos", "mel_fd", "mcd_db")


def tts_ebm(*args: str) -> None:
    """Run a tts-ebm subcommand with this interpreter; its failure stops the contest."""
    command = [sys.executable, "-m", "tts_ebm.cli", *args]
    print("+", " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True)


def parameter_counts(conf_dir: Path, names: list[str], tolerance: float) -> dict[str, dict]:
    """Whole acoustic model and field parameters per criterion; UserInputError if unequal."""
    n_symbols = len(SymbolTable.default())
    counts = {}
    for name in names:
        config = load_config(conf_dir / f"{name}.yaml")
        model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols)
        counts[name] = {"params": sum(p.numel() for p in model.parameters()),
                        "field_params": sum(p.numel() for p in model.field.parameters()),
                        "field": model.config.field}
    first = counts[names[0]]["params"]
    for name, row in counts.items():
        if abs(row["params"] / first - 1) > tolerance:
            raise UserInputError(
                f"{name} has {row['params']:,} parameters, {names[0]} {first:,}: more than "
                f"{tolerance:.0%} apart; size the configs in {conf_dir} alike"
            )
    return counts


def read_test_text(dump: Path, limit: int | None) -> list[tuple[str, str]]:
    """(id, text) of DUMP/test.tsv (header id, n_frames, phonemes, text)."""
    path = dump / "test.tsv"
    if not path.is_file():
        raise FileNotFoundError(f"no test split in the dump: {path}")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    pairs = [(row[0], row[3]) for row in rows if len(row) >= 4]
    if not pairs:
        raise UserInputError(f"{path} lists no test utterances")
    return pairs[:limit]


def _generate(synth: Synthesizer, sentences: list, sampler, generator: torch.Generator) -> int:
    """The acoustic model alone on one utterance's sentences (one batch); generated frames."""
    out = synth.generate_batch([ids for _, ids in sentences], sampler, generator=generator)
    return int(out.durations.sum())


def time_acoustic_models(
    checkpoints: dict[str, Path], texts: list[str], ks: list[int], threads: int, repeats: int,
    controls: dict[str, SynthesisControls] | None = None,
) -> dict[tuple[str, int], dict[str, float]]:
    """Best-of-`repeats` wall seconds of the acoustic model over the whole test set, per
    (system, K), all interleaved, each system with its `controls` (e.g. another sampler);
    audio seconds of the generated mels for the RTF."""
    torch.set_num_threads(threads)
    controls = controls or {}
    synths = {name: Synthesizer(path, device="cpu") for name, path in checkpoints.items()}
    batches = {name: [synth.sentences(text) for text in texts] for name, synth in synths.items()}
    best: dict[tuple[str, int], dict[str, float]] = {}
    for name, synth in synths.items():  # warm-up (allocator, first-call paths): not counted
        for k in ks:
            _generate(synth, batches[name][0], synth.build_sampler(controls.get(name), steps=k),
                      torch.Generator())
    for _ in range(repeats):
        for name, synth in synths.items():
            for k in ks:
                sampler = synth.build_sampler(controls.get(name), steps=k)
                seconds, frames = 0.0, 0
                generator = torch.Generator().manual_seed(0)
                for sentences in batches[name]:
                    start = time.perf_counter()
                    n_frames = _generate(synth, sentences, sampler, generator)
                    seconds += time.perf_counter() - start
                    frames += n_frames
                row = best.setdefault((name, k), {"wall_s": float("inf")})
                if seconds < row["wall_s"]:
                    row.update(wall_s=seconds, audio_s=frames * HOP / SAMPLE_RATE)
    for row in best.values():
        row["rtf"] = row["wall_s"] / max(row["audio_s"], 1e-9)
    return best


def saved_timings(path: Path, names: list[str], ks: list[int], steps: dict[str, int],
                  threads: int, settings: dict[str, dict]
                  ) -> dict[tuple[str, int], dict[str, float]] | None:
    """The timings of an earlier run of the same contest (systems, K, steps, threads, sampler
    options), if any."""
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    if (saved.get("steps"), saved.get("threads"), saved.get("sampler", {})) != (
            steps, threads, settings):
        return None
    timings = {(r["system"], r["K"]): {key: r[key] for key in ("wall_s", "audio_s", "rtf")}
               for r in saved.get("rows", [])}
    wanted = {(name, k) for name in names for k in ks}
    return timings if wanted <= timings.keys() else None


def summary_value(metrics: dict, key: str) -> tuple[float | None, float | None]:
    row = metrics.get("summary", {}).get(key) or {}
    return row.get("mean"), row.get("ci95")


def best_rows(rows: list[dict], names: list[str]) -> list[str]:
    """Per metric and system: the K with the best point estimate."""
    lines = ["| metric | system | best K | value ± 95 % | acoustic wall s |", "|---|---|---|---|---|"]
    for metric in METRICS:
        key = metric.key
        for name in names:
            scored = [r for r in rows if r["system"] == name and r.get(key) is not None]
            if not scored:
                continue
            top = max(scored, key=lambda r: metric.rank(r[key]))
            lines.append(f"| {metric.header} | {name} | {top['K']} | "
                         f"{fmt(metric, top[key], top[key + '_ci95'])} | {top['wall_s']:.3f} |")
    return lines


def equal_time_lines(rows: list[dict], names: list[str], chosen: dict[str, int]) -> list[str]:
    """Pairs at equal acoustic-model time: each system at its chosen K (every K of the first
    system when none is chosen) against every other system at the K whose wall time is nearest
    (in ratio). Point estimates with their 95 % intervals; neither side at its worst K."""
    by_system = {name: [r for r in rows if r["system"] == name] for name in names}
    anchors = ([r for name, k in chosen.items() for r in by_system.get(name, []) if r["K"] == k]
               if chosen else by_system.get(names[0], []))
    lines = ["| system | K | wall s | peer | K | wall s | "
             + " | ".join(f"{m.header}: system / peer" for m in METRICS) + " |",
             "|---|---|---|---|---|---|" + "---|" * len(METRICS)]
    for anchor in anchors:
        for name in names:
            if name == anchor["system"] or not by_system[name]:
                continue
            peer = min(by_system[name],
                       key=lambda r: abs(math.log(max(r["wall_s"], 1e-9) / max(anchor["wall_s"], 1e-9))))
            cells = [f"{fmt(m, anchor.get(m.key), anchor.get(m.key + '_ci95'))} / "
                     f"{fmt(m, peer.get(m.key), peer.get(m.key + '_ci95'))}" for m in METRICS]
            lines.append(f"| {anchor['system']} | {anchor['K']} | {anchor['wall_s']:.3f} | "
                         f"{name} | {peer['K']} | {peer['wall_s']:.3f} | " + " | ".join(cells)
                         + " |")
    return lines


def fmt(metric: Metric, mean: float | None, ci: float | None) -> str:
    return "–" if mean is None else metric.format(mean, ci)


def read_ceiling(exp: Path) -> dict[str, float]:
    """Copy synthesis (the reference mels through the same vocoder) of a recipe's experiment:
    the quality a perfect acoustic model would reach; empty when it was not evaluated."""
    path = exp / "copy_synthesis" / "eval" / "metrics.json"
    if not path.is_file():
        return {}
    metrics = json.loads(path.read_text(encoding="utf-8"))
    return {metric.key: value for metric in METRICS
            if (value := summary_value(metrics, metric.key)[0]) is not None}


def plot(rows: list[dict], names: list[str], ceiling: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    shown = [m for m in METRICS if any(r.get(m.key) is not None for r in rows)]
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(4.5 * max(len(shown), 1), 3.8),
                             squeeze=False)
    for ax, metric in zip(axes[0], shown):
        key = metric.key
        for name in names:
            mine = sorted((r for r in rows if r["system"] == name and r.get(key) is not None),
                          key=lambda r: r["wall_s"])
            if not mine:
                continue
            ax.errorbar([r["wall_s"] for r in mine], [metric.shown(r[key]) for r in mine],
                        yerr=[metric.shown(r[key + "_ci95"] or 0.0) for r in mine], marker="o",
                        capsize=3, label=name)
            for r in mine:
                ax.annotate(f"K={r['K']}", (r["wall_s"], metric.shown(r[key])),
                            textcoords="offset points", xytext=(3, 3), fontsize=7)
        if key in ceiling:
            ax.axhline(metric.shown(ceiling[key]), color="grey", linestyle="--",
                       label="copy synthesis")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("acoustic-model wall time over the test set (s)")
        ax.set_ylabel(metric.axis_label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_chosen(pairs: list[str], names: list[str], ks: list[int]) -> dict[str, int]:
    """--chosen SYSTEM=K pairs; UserInputError names a system or K that is not in the contest."""
    chosen = {}
    for pair in pairs:
        name, _, k = pair.partition("=")
        if name not in names or not k.isdigit() or int(k) not in ks:
            raise UserInputError(f"--chosen {pair!r}: want SYSTEM=K with SYSTEM one of {names} "
                                 f"and K one of {ks}")
        chosen[name] = int(k)
    return chosen


def parse_sampler_configs(pairs: list[str], names: list[str]) -> dict[str, Path]:
    """--sampler-config SYSTEM=FILE pairs -> per system its sampler config, each read once here
    so that an unknown system or a bad file fails before any timing or synthesis."""
    configs = {}
    for pair in pairs:
        name, _, path = pair.partition("=")
        if name not in names or not path:
            raise UserInputError(f"--sampler-config {pair!r}: want SYSTEM=FILE with SYSTEM one "
                                 f"of {names}")
        sampler_config.read(path)
        configs[name] = Path(path)
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dump", type=Path, required=True,
                        help="feature dump (tts-ebm prepare features): train/val/test, mels")
    parser.add_argument("--out", type=Path, required=True, help="contest folder")
    parser.add_argument("--conf-dir", type=Path, default=Path("egs/mini/conf"),
                        help="configs <criterion>.yaml (default: %(default)s)")
    parser.add_argument("--criteria", nargs="+", default=["delta", "dsm", "fm"],
                        help="systems, the first is the size reference (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=None,
                        help="train the systems not yet trained for this many steps each "
                        "(default: every system is already trained in --exp-dir, with the "
                        "steps it was given)")
    parser.add_argument("--exp-dir", type=Path, default=None,
                        help="folder of <criterion>/train, synth_K<k>, eval_K<k> (default: --out; "
                        "a recipe's exp folder reuses its runs)")
    parser.add_argument("--chosen", nargs="+", default=[], metavar="SYSTEM=K",
                        help="each system's chosen K (on a tuning set), anchors of the "
                        "equal-time pairs (default: every K of the first system)")
    parser.add_argument("--sampler-config", nargs="+", default=[], metavar="SYSTEM=FILE",
                        help="a system's sampler config (tts_ebm/sampler_config.py, e.g. the "
                        "one chosen on a tuning set), used at every K: its sampler options, "
                        "not its K (default: the checkpoint's sampler settings)")
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 10],
                        help="sampler steps K to synthesise (default: %(default)s)")
    parser.add_argument("--test-ref", type=Path, default=None,
                        help="folder of reference <id>.wav (adds MCD/F0 metrics)")
    parser.add_argument("--max-test", type=int, default=None,
                        help="use only the first N test utterances")
    parser.add_argument("--vocoder", default=None, help="tts-ebm synthesize --vocoder spec")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads for the wall-time measurement (default: 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed passes over the test set; the fastest counts (default: 3)")
    parser.add_argument("--retime", action="store_true",
                        help="time the acoustic models again even if OUT/contest.json has "
                        "timings of the same systems, K, steps and threads")
    parser.add_argument("--param-tolerance", type=float, default=0.10,
                        help="largest relative parameter difference allowed (default: 0.10)")
    parser.add_argument("--train-args", type=shlex.split, default=[],
                        help="extra `tts-ebm train` KEY=VALUE overrides for every system, "
                        "one string: --train-args='trainer.cpu_threads=2'")
    parser.add_argument("--eval-args", type=shlex.split, default=[],
                        help="extra `tts-ebm evaluate` options, one string: "
                        "--eval-args='--f0-method dio'")
    args = parser.parse_args(argv)
    if (args.steps is not None and args.steps < 1) or not args.ks or min(args.ks) < 0:
        raise UserInputError("--steps must be >= 1 and --ks non-negative")
    if args.repeats < 1:
        raise UserInputError("--repeats must be >= 1")
    out, names = args.out, args.criteria
    exp = args.exp_dir or out
    chosen = parse_chosen(args.chosen, names, args.ks)
    configs = parse_sampler_configs(args.sampler_config, names)
    controls = {name: sampler_config.read(path).sampler for name, path in configs.items()}
    settings = {name: dataclasses.asdict(c) for name, c in controls.items()}

    counts = parameter_counts(args.conf_dir, names, args.param_tolerance)
    print("parameters:", {n: f"{c['params']:,} ({c['field']})" for n, c in counts.items()})
    test = read_test_text(args.dump, args.max_test)
    out.mkdir(parents=True, exist_ok=True)
    test_text = out / "test_text.txt"
    test_text.write_text("".join(f"{uid}|{text}\n" for uid, text in test), encoding="utf-8")

    checkpoints, trained_steps = {}, {}
    for name in names:
        train_dir = exp / name / "train"
        summary = train_dir / "train_summary.json"
        if not summary.is_file():
            if args.steps is None:
                raise UserInputError(f"{name} is not trained ({summary} is missing): give --steps")
            tts_ebm("train", "--config", str(args.conf_dir / f"{name}.yaml"), "--out",
                    str(train_dir), "--no-progress", f"data.dump_dir={args.dump}",
                    f"trainer.max_steps={args.steps}", *args.train_args)
        trained_steps[name] = json.loads(summary.read_text(encoding="utf-8"))["steps"]
        checkpoints[name] = train_dir / "checkpoints" / "last.ckpt"
    timings = saved_timings(out / "contest.json", names, args.ks, trained_steps, args.threads,
                            settings)
    if timings is None or args.retime:
        timings = time_acoustic_models(checkpoints, [text for _, text in test], args.ks,
                                       args.threads, args.repeats, controls)

    rows = []
    for name in names:
        for k in args.ks:
            synth_dir, eval_dir = exp / name / f"synth_K{k}", exp / name / f"eval_K{k}"
            if not (synth_dir / ".done").is_file():
                voc = ["--vocoder", args.vocoder] if args.vocoder else []
                tts_ebm("synthesize", "--checkpoint", str(checkpoints[name]), "--text-file",
                        str(test_text), "--out", str(synth_dir), "--steps", str(k), "--seed",
                        "0", "--save-mel", *voc,
                        *(["--sampler-config", str(configs[name])] if name in configs else []))
                (synth_dir / ".done").touch()
            if not (eval_dir / "metrics.json").is_file():
                ref = ["--reference", str(args.test_ref)] if args.test_ref else []
                tts_ebm("evaluate", *ref, "--synthesized", str(synth_dir), "--text-file",
                        str(test_text), "--reference-mels", str(args.dump / "mels"), "--out",
                        str(eval_dir / "metrics.json"), "--no-progress", *args.eval_args)
            metrics = json.loads((eval_dir / "metrics.json").read_text(encoding="utf-8"))
            row = {"system": name, "K": k, "steps": trained_steps[name], **counts[name],
                   **timings[(name, k)]}
            for metric in METRICS:
                row[metric.key], row[metric.key + "_ci95"] = summary_value(metrics, metric.key)
            rows.append(row)

    ceiling = read_ceiling(exp)
    (out / "contest.json").write_text(json.dumps(
        {"steps": trained_steps, "threads": args.threads, "sampler": settings,
         "test_utterances": len(test),
         "copy_synthesis": ceiling,
         "dump": str(args.dump), "rows": rows}, indent=2) + "\n", encoding="utf-8")
    header = ["| system | field | params | training steps | K | acoustic wall s | RTF | "
              + " | ".join(metric.header for metric in METRICS) + " |",
              "|---|---|---|---|---|---|---|" + "---|" * len(METRICS)]
    table = [f"| {r['system']} | {r['field']} | {r['params']:,} | {r['steps']} | {r['K']} "
             f"| {r['wall_s']:.3f} | {r['rtf']:.4f} | "
             + " | ".join(fmt(m, r[m.key], r[m.key + "_ci95"]) for m in METRICS) + " |"
             for r in rows]
    if ceiling:
        table.insert(0, "| copy synthesis (ceiling) | – | – | – | – | – | – | "
                     + " | ".join(fmt(m, ceiling.get(m.key), None) for m in METRICS) + " |")
    report = [
        f"# Contest: {', '.join(names)}",
        "",
        (f"Dump {args.dump}, {len(test)} test utterances; acoustic-model wall time on CPU with "
         f"{args.threads} threads, best of {args.repeats} passes, whole test set. "
         "Quality: `tts-ebm evaluate` means ± 95 % intervals."),
        "",
        *header, *table, "",
        "## Best K per metric", "", *best_rows(rows, names), "",
        "## At equal acoustic-model time", "",
        ("Each system at its chosen K" if chosen else f"Every K of {names[0]}")
        + " against every other system at the K of nearest wall time.", "",
        *equal_time_lines(rows, names, chosen), "",
        "![quality vs wall time](contest.png)", "",
    ]
    (out / "CONTEST.md").write_text("\n".join(report), encoding="utf-8")
    plot(rows, names, ceiling, out / "contest.png")
    print("\n".join(report))
    print(f"wrote {out / 'CONTEST.md'}, {out / 'contest.json'}, {out / 'contest.png'}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (UserInputError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
