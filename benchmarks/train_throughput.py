"""Training throughput per criterion: optimizer steps/s and peak memory, one table.

Runs the real Lightning training loop (data module, LightningModule, Trainer) on a synthetic
feature dump written by this script, so it runs anywhere. Each criterion is measured in its own
subprocess so that peak memory (CPU: max RSS; CUDA: max allocated) belongs to that criterion.

  python benchmarks/train_throughput.py                       # mini configs, CPU fp32
  python benchmarks/train_throughput.py --device cuda \\
      --conf-dir egs/ljspeech/conf --batch-size 32             # LJSpeech configs, bf16-mixed
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PHONEMES = "ðə kwˈɪk bɹˈaʊn fˈɑːks dʒˈʌmps ˌoʊvɚ ðə lˈeɪzi dˈɑːɡ. "


def write_dump(root: Path, n_utts: int, min_frames: int, max_frames: int) -> None:
    """Random log-mels with lengths in [min, max] and ~1 phoneme per 6 frames (dump layout)."""
    rng = np.random.default_rng(0)
    (root / "mels").mkdir(parents=True)
    for split, count in (("train", n_utts), ("val", 2)):
        rows = ["id\tn_frames\tphonemes\ttext"]
        for i in range(count):
            frames = int(rng.integers(min_frames, max_frames + 1))
            mel = rng.normal(-5.0, 2.0, size=(80, frames)).astype(np.float32)
            np.save(root / "mels" / f"{split}{i}.npy", mel)
            phonemes = (PHONEMES * (frames // 40 + 1))[: max(8, frames // 6)].strip()
            rows.append(f"{split}{i}\t{frames}\t{phonemes}\tsynthetic")
        (root / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    (root / "stats.json").write_text(json.dumps({"mean": [-5.0] * 80, "std": [2.0] * 80}))


def worker(args: argparse.Namespace) -> None:
    """Train warmup + steps optimizer steps of one criterion; print one JSON line."""
    import torch
    from lightning.pytorch.callbacks import Callback

    from tts_ebm.training.config import load_config
    from tts_ebm.training.train import train

    class Compile(Callback):
        """torch.compile the field's network (the per-step hot path) before training."""

        def on_fit_start(self, trainer, pl_module) -> None:
            field = pl_module.model.field
            field.network = torch.compile(field.network)

    class Clock(Callback):
        def on_train_batch_start(self, trainer, *_: object) -> None:
            if trainer.global_step == args.warmup:
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
                    torch.cuda.reset_peak_memory_stats()
                self.start = time.perf_counter()

    overrides = [
        f"data.dump_dir={args.dump}",
        f"trainer.max_steps={args.warmup + args.steps}",
        "trainer.val_every=1000000",
        "trainer.ckpt_every=1000000",
        "trainer.log_every=1000000",
        f"trainer.accelerator={'gpu' if args.device == 'cuda' else 'cpu'}",
        "trainer.devices=1",
    ]
    if args.batch_size:
        overrides.append(f"data.batch_size={args.batch_size}")
    if args.threads:
        overrides.append(f"trainer.cpu_threads={args.threads}")
    if args.loader_workers is not None:
        overrides.append(f"data.num_workers={args.loader_workers}")
    overrides += args.override
    config = load_config(Path(args.conf_dir) / f"{args.worker}.yaml", overrides)
    clock = Clock()
    callbacks = [Compile(), clock] if args.compile else [clock]
    with tempfile.TemporaryDirectory() as out:
        summary = train(config, out, callbacks=callbacks, progress=False)
        if torch.cuda.is_available() and args.device == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elapsed = time.perf_counter() - clock.start
    print(
        json.dumps(
            {
                "criterion": args.worker,
                "steps_per_s": args.steps / elapsed,
                "peak_mib": peak,
                "batch_size": config.data.batch_size,
                "precision": summary["precision"],
            }
        )
    )


def layout_flags(threads: int | None, loader_workers: int | None, compile_: bool) -> list[str]:
    """Worker options for one way of using the cores (None: the config's setting)."""
    flags = ["--threads", str(threads)] if threads else []
    if loader_workers is not None:
        flags += ["--loader-workers", str(loader_workers)]
    return flags + (["--compile"] if compile_ else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conf-dir", default=str(ROOT / "egs/mini/conf"))
    parser.add_argument("--criteria", default="delta dsm nce ssm")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--batch-size", type=int, help="override data.batch_size")
    parser.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed optimizer steps first")
    parser.add_argument("--utterances", type=int, default=64)
    parser.add_argument(
        "--frames",
        type=int,
        nargs=2,
        default=(150, 450),
        metavar=("MIN", "MAX"),
        help="utterance lengths of the synthetic dump",
    )
    parser.add_argument("--threads", type=int, help="override trainer.cpu_threads")
    parser.add_argument("--loader-workers", type=int, help="override data.num_workers")
    parser.add_argument("--compile", action="store_true", help="torch.compile the field network")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="any other config override, e.g. model.preset=tiny (repeatable)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_dump(Path(tmp), args.utterances, *args.frames)
        for criterion in args.criteria.split():
            command = [
                sys.executable,
                __file__,
                "--worker",
                criterion,
                "--dump",
                tmp,
                "--conf-dir",
                args.conf_dir,
                "--device",
                args.device,
                "--steps",
                str(args.steps),
                "--warmup",
                str(args.warmup),
            ]
            if args.batch_size:
                command += ["--batch-size", str(args.batch_size)]
            command += layout_flags(args.threads, args.loader_workers, args.compile)
            command += [f"--override={item}" for item in args.override]
            done = subprocess.run(command, check=False, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{criterion} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"\n{args.conf_dir}, device {args.device}, {args.steps} timed steps after "
        f"{args.warmup} warm-up, utterances of {args.frames[0]}-{args.frames[1]} frames\n"
    )
    print("| criterion | batch | precision | steps/s | s/step | peak memory (MiB) |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['criterion']} | {row['batch_size']} | {row['precision']} | "
            f"{row['steps_per_s']:.2f} | {1 / row['steps_per_s']:.3f} | {row['peak_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
