r"""Make a training checkpoint into a voice: EMA weights only (fp16 by default), the sampler
settings chosen on validation, and a model card; the folder `--checkpoint NAME` finds when it
lies in tts_ebm/voices/NAME/, or that you upload to the Hub for `hf:OWNER/REPO/voice.ckpt`.

  tts-ebm package-voice --checkpoint exp/voice/train/checkpoints/step00016000.ckpt \
      --sampler-config exp/voice/chosen.yaml --card card.md --out tts_ebm/voices/slt

The card (Markdown, starting with a `# headline`) says what a user must know: the data and its
licence, the test scores with their ceilings. The command appends what it can read from the
checkpoint: criterion, size, steps, training CPU-hours, sampler, the file's size and hash.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tts_ebm import sampler_config
from tts_ebm.errors import UserInputError
from tts_ebm.voices.packaging import PRECISIONS, package_voice


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="the training checkpoint (.ckpt)")
    parser.add_argument("--card", type=Path, required=True,
                        help="the model card's Markdown (starts with a `# headline`)")
    parser.add_argument("--out", type=Path, required=True, help="the voice folder to write")
    parser.add_argument("--sampler-config", type=Path, default=None,
                        help="YAML of the chosen sampler settings (see `tts-ebm synthesize "
                             "--sampler-config`); default: the checkpoint's own")
    parser.add_argument("--precision", choices=list(PRECISIONS), default="fp16",
                        help="the weights' storage type (default fp16: half the size; check "
                             "its quality against fp32 before shipping)")


def run(args: argparse.Namespace) -> int:
    if not args.card.is_file():
        raise UserInputError(f"model card not found: {args.card}")
    chosen = (sampler_config.read(args.sampler_config).sampler
              if args.sampler_config is not None else None)
    voice = package_voice(args.checkpoint, args.out, args.card.read_text(encoding="utf-8"),
                          sampler=chosen, precision=args.precision)
    print(f"wrote {voice} ({voice.stat().st_size / 1e6:.1f} MB) and "
          f"{voice.with_name('MODEL_CARD.md')}")
    return 0
