"""Train an energy-based acoustic model from a YAML config.

Writes OUT/config.yaml (the resolved config), OUT/checkpoints/ (last.ckpt and periodic ones),
OUT/logs/ (TensorBoard: losses, gradient norm, energies, validation mels, audio, log-mel MCD) and
OUT/train_summary.json. Uses CUDA with bf16-mixed precision when available, else CPU fp32.

examples:
  tts-ebm train --config egs/mini/conf/delta.yaml --out exp/delta/train
  tts-ebm train --config egs/mini/conf/delta.yaml --criterion dsm trainer.max_steps=500
  tts-ebm train --config egs/ljspeech/conf/delta.yaml trainer.devices=4 trainer.strategy=ddp
  tts-ebm train --config exp/delta/train/config.yaml --out exp/delta/train --resume
  tts-ebm train --config egs/mini/conf/delta.yaml --out exp/ft --init-from base/last.ckpt \
      data.dump_dir=my_dump trainer.max_steps=300

Fine-tuning (--init-from) takes the base checkpoint's weights, model config, symbol table,
language and mel statistics; the optimiser, schedule and step count start anew from the config.
Nothing is frozen unless --freeze says so: a new speaker needs the prior mean mu (the encoder)
to move to its spectra; `--freeze encoder` adapts only the energy, for very small sets.
"""

from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML (egs/*/conf/*.yaml)")
    parser.add_argument(
        "--criterion",
        help="override criterion.name (its options reset to "
        "the defaults unless given as criterion.options.KEY=VALUE)",
    )
    parser.add_argument(
        "--out", default="exp/train", help="output directory (default: %(default)s)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue exactly from OUT/checkpoints/last.ckpt"
    )
    parser.add_argument(
        "--init-from",
        metavar="CKPT",
        help="fine-tune: start from this trained checkpoint (see above; the config key "
        "finetune.init_from)",
    )
    parser.add_argument(
        "--freeze",
        action="append",
        default=[],
        choices=["encoder", "field"],
        help="with --init-from: model part to keep fixed (repeatable; default: none; the config "
        "key finetune.freeze)",
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="plain log lines (every 10 x trainer.log_every steps and after each validation) "
        "instead of a progress bar, for log files",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. trainer.max_steps=2000 data.batch_size=8",
    )


def run(args: argparse.Namespace) -> int:
    from tts_ebm.training.config import load_config
    from tts_ebm.training.train import train

    overrides = list(args.overrides)
    if args.criterion:
        overrides.insert(0, f"criterion.name={args.criterion}")
        if load_config(args.config).criterion.name != args.criterion:
            overrides.insert(1, "criterion.options={}")
    if args.init_from:
        overrides.append(f"finetune.init_from={args.init_from}")
    if args.freeze:
        overrides.append(f"finetune.freeze=[{','.join(args.freeze)}]")
    config = load_config(args.config, overrides)
    summary = train(config, args.out, resume=args.resume, progress=not args.no_progress)
    print(json.dumps({k: summary[k] for k in ("criterion", "steps", "wall_time_s")}))
    return 0
