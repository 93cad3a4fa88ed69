"""What a lent GPU does with the ljspeech recipe: training throughput of every criterion, synthesis
RTF against the flow-matching peer, and 2-process DDP; one table and one JSON.

    python benchmarks/gpu_check.py --out gpu_check.json            # scripts/gpu_check.sh runs it
    python benchmarks/gpu_check.py --device cpu --preset tiny ...    # the same functions on CPU

- Training: benchmarks/train_throughput.py's worker (the real Lightning loop) with each
  criterion's egs/ljspeech/conf/<criterion>.yaml, so bf16-mixed on CUDA, on a synthetic dump of
  LJSpeech-length utterances (1-10 s); optimizer steps/s after a warm-up and peak memory.
- Synthesis: each criterion's config (field and sampler) with random weights, which cost what
  trained ones cost; tokens of a fixed phoneme string, length_scale set so that an utterance
  lasts --seconds; the acoustic model at each K, then HiFi-GAN, the waveform back on the CPU.
  The front end (espeak-ng, on the CPU) is not timed. RTF = wall time / seconds of audio, the
  fastest of --repeats after a warm-up. The vocoder is the one synthesis would load (the Hub's
  default, else the packaged hifigan-lj); when neither loads, a random HiFi-GAN V1 of the same
  size stands in, and the table says so.
- DDP: the first criterion on 2 GPUs (trainer.devices=2, strategy ddp) when there are 2 or more.
The JSON is rewritten after every row, so a run stopped by its time limit keeps what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from synthesis_rtf import best_seconds, calibrate_length_scale
from train_throughput import PHONEMES, ROOT, write_dump

import vocoder
from tts_ebm import samplers
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable
from tts_ebm.training.config import ExperimentConfig, load_config

CRITERIA = ("delta", "dsm", "nce", "ssm", "fm")
KS = (1, 2, 4, 10)
PEER = "fm"  # the flow-matching peer
PEER_KS = (10,)
HOP, SAMPLE_RATE = 256, 22050
TRAIN_TIMEOUT_S = 240  # one criterion's worker; a hang must not eat the whole check


def train_row(criterion: str, dump: Path, *, device: str, conf_dir: Path, steps: int,
              warmup: int, overrides: list[str], batch_size: int | None = None,
              devices: int = 1) -> dict[str, Any]:
    """Steps/s and peak memory of one criterion from train_throughput's worker, or its failure."""
    extra = [f"trainer.devices={devices}"] + (["trainer.strategy=ddp"] if devices > 1 else [])
    command = [sys.executable, str(Path(__file__).with_name("train_throughput.py")),
               "--worker", criterion, "--dump", str(dump), "--conf-dir", str(conf_dir),
               "--device", device, "--steps", str(steps), "--warmup", str(warmup),
               *(["--batch-size", str(batch_size)] if batch_size else []),
               *[f"--override={item}" for item in [*overrides, *extra]]]
    row: dict[str, Any] = {"part": "ddp" if devices > 1 else "train", "criterion": criterion,
                           "devices": devices}
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=TRAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {**row, "error": f"no result within {TRAIN_TIMEOUT_S} s"}
    if done.returncode:
        last = done.stderr.strip().splitlines()[-1:] or ["no error output"]
        return {**row, "error": f"exit {done.returncode}: {last[0][:200]}"}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**row, "batch": result["batch_size"], "precision": result["precision"],
            "steps_per_s": result["steps_per_s"], "peak_mib": result["peak_mib"]}


def load_vocoder(device: torch.device) -> tuple[vocoder.Vocoder, str]:
    """The vocoder synthesis would load by default, and its name."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):  # load_or_fallback says so when it falls back
            voc = vocoder.load_or_fallback(None, device)
    except (UserInputError, FileNotFoundError) as error:
        torch.manual_seed(0)
        generator = vocoder.Generator(vocoder.HiFiGANConfig.v1())
        reason = str(error).splitlines()[0]
        return (vocoder.HiFiGANVocoder(generator, device),
                f"random HiFi-GAN V1 (same size; none loaded: {reason})")
    if said.getvalue():
        print(said.getvalue().strip(), file=sys.stderr)
        return voc, vocoder.FALLBACK_SPEC
    return voc, vocoder.DEFAULT_SPEC


def synthesizer_parts(config: ExperimentConfig, device: torch.device, tokens: torch.Tensor,
                      lengths: torch.Tensor, frames: int) -> tuple[AcousticModel, float, int]:
    """A random-weight model of config on device, the length_scale that gives about `frames`
    frames per utterance, and the frames it gives."""
    torch.manual_seed(0)
    model_config = ModelConfig.from_dict(config.model)
    model = AcousticModel(model_config, n_symbols=len(SymbolTable.default())).to(device).eval()
    scale, got = calibrate_length_scale(model, tokens, lengths, frames)
    return model, scale, got


def synthesize_once(model: AcousticModel, voc: vocoder.Vocoder, tokens: torch.Tensor,
                    lengths: torch.Tensor, sampler: samplers.Sampler, scale: float) -> None:
    """A batch through the acoustic model and the vocoder (which returns it on the CPU)."""
    out = model.generate(tokens, lengths, sampler, scale)
    voc(out.mel * 2.0 - 5.0)  # the raw log-mel, with write_dump's statistics


def synthesis_rows(ks: dict[str, tuple[int, ...]], *, device: torch.device, conf_dir: Path,
                   preset: str, seconds: float, batch_sizes: list[int], repeats: int,
                   voc: vocoder.Vocoder, vocoder_name: str) -> list[dict[str, Any]]:
    """RTF of acoustic model + vocoder for each criterion's config at each of its K."""
    ids = SymbolTable.default().encode(PHONEMES.strip())
    rows = []
    for criterion, criterion_ks in ks.items():
        config = load_config(conf_dir / f"{criterion}.yaml", [f"model.preset={preset}"])
        one = torch.tensor([ids], device=device)
        model, scale, frames = synthesizer_parts(
            config, device, one, torch.tensor([len(ids)], device=device),
            round(seconds * SAMPLE_RATE / HOP))
        for batch in batch_sizes:
            tokens = one.expand(batch, -1).contiguous()
            lengths = torch.full((batch,), len(ids), device=device)
            for k in criterion_ks:
                sampler = samplers.build(config.sampler.name,
                                         **{**config.sampler.options, "steps": k})
                wall, cpu = best_seconds(functools.partial(
                    synthesize_once, model, voc, tokens, lengths, sampler, scale), repeats)
                audio = batch * frames * HOP / SAMPLE_RATE
                rows.append({"part": "synthesis", "criterion": criterion, "K": k,
                             "batch": batch, "audio_s": audio, "wall_s": wall, "cpu_s": cpu,
                             "rtf": wall / audio, "vocoder": vocoder_name})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """One Markdown table of every row."""
    header = ("| part | criterion | K | devices × batch | precision | steps/s | peak MiB | "
              "audio s | wall s | RTF |")
    lines = [header, "|---|---|---:|---|---|---:|---:|---:|---:|---:|"]

    def cell(row: dict[str, Any], key: str, spec: str = "") -> str:
        return format(row[key], spec) if key in row else ""

    for row in rows:
        shape = f"{row.get('devices', 1)} × {row.get('batch', '?')}"
        lines.append(
            f"| {row['part']} | {row['criterion']} | {cell(row, 'K')} | {shape} | "
            f"{cell(row, 'precision')} | {cell(row, 'steps_per_s', '.2f')} | "
            f"{cell(row, 'peak_mib', '.0f')} | {cell(row, 'audio_s', '.1f')} | "
            f"{cell(row, 'wall_s', '.3f')} | {cell(row, 'rtf', '.4f')} |"
            + (f" **{row['error']}**" if "error" in row else ""))
    return "\n".join(lines)


def environment(device: torch.device) -> dict[str, Any]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "device": name,
            "gpus": torch.cuda.device_count(), "torch": torch.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--conf-dir", type=Path, default=ROOT / "egs" / "ljspeech" / "conf")
    parser.add_argument("--preset", default="ljspeech", help="model.preset (default: ljspeech)")
    parser.add_argument("--criteria", nargs="+", default=list(CRITERIA), choices=CRITERIA)
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS),
                        help="K of the energy criteria's synthesis (default: 1 2 4 10)")
    parser.add_argument("--peer-ks", type=int, nargs="+", default=list(PEER_KS),
                        help=f"K of {PEER}'s synthesis (default: 10)")
    parser.add_argument("--synth-criteria", nargs="+", default=["delta", PEER], choices=CRITERIA,
                        help="configs synthesised (default: delta fm)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed training steps first")
    parser.add_argument("--batch-size", type=int, help="override data.batch_size (config: 32)")
    parser.add_argument("--utterances", type=int, default=256, help="synthetic training clips")
    parser.add_argument("--frames", type=int, nargs=2, default=(86, 870), metavar=("MIN", "MAX"),
                        help="their lengths (default: 1-10 s, LJSpeech's range)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="any other training config override (repeatable)")
    parser.add_argument("--seconds", type=float, default=6.6,
                        help="audio per synthesised utterance (default: LJSpeech's mean)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16],
                        help="utterances synthesised together (default: 1 16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed synthesis runs per row")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.exit(2, "error: --device cuda but torch sees no CUDA device\n")

    report: dict[str, Any] = {"environment": environment(device), "rows": []}

    def add(rows: list[dict[str, Any]]) -> None:
        report["rows"] += rows
        atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")

    overrides = [f"model.preset={args.preset}", *args.override]
    train: dict[str, Any] = {"device": args.device, "conf_dir": args.conf_dir,
                             "steps": args.steps, "warmup": args.warmup,
                             "overrides": overrides, "batch_size": args.batch_size}
    with tempfile.TemporaryDirectory(prefix="gpu-check-dump-") as dump:
        write_dump(Path(dump), args.utterances, *args.frames)
        for criterion in args.criteria:
            add([train_row(criterion, Path(dump), **train)])
            print(table(report["rows"][-1:]).splitlines()[-1], flush=True)
        voc, vocoder_name = load_vocoder(device)
        report["environment"]["vocoder"] = vocoder_name
        print(f"vocoder: {vocoder_name}", flush=True)
        ks = {c: tuple(args.peer_ks if c == PEER else args.ks) for c in args.synth_criteria}
        add(synthesis_rows(ks, device=device, conf_dir=args.conf_dir, preset=args.preset,
                           seconds=args.seconds, batch_sizes=args.batch_sizes,
                           repeats=args.repeats, voc=voc, vocoder_name=vocoder_name))
        if device.type == "cuda" and torch.cuda.device_count() >= 2:
            add([train_row(args.criteria[0], Path(dump), devices=2, **train)])
        else:
            report["ddp"] = "skipped: fewer than 2 GPUs"
    report["table"] = table(report["rows"])
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    env = report["environment"]
    print(f"\n{env['device']}, torch {env['torch']}, {env['date']}; vocoder {vocoder_name}; "
          f"{report.get('ddp', '2-GPU DDP measured')}\n")
    print(report["table"])
    return 1 if any("error" in row for row in report["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
