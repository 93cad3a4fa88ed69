"""What storing a voice's weights in fp16 changes: the voice packaged in fp32 and in fp16 from one
checkpoint, the same sentences synthesised by both (same seed, the voice's sampler settings,
no vocoder), and the difference of their raw log-mels, beside the file sizes.

    .venv/bin/python benchmarks/voice_precision.py --checkpoint CKPT \\
        --text-file egs/ljspeech/dump/standin/val_text.txt [--sampler-config chosen.yaml]

The mel difference is the upper bound on what a judge could hear: if it is far below what one
energy step changes (0.04-0.08 per band, benchmarks/step_change.py), the judges are run on
both only to confirm it (`tts-ebm evaluate` of each voice's synthesis, paired).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from tts_ebm import sampler_config
from tts_ebm.synthesis import Synthesizer
from tts_ebm.voices.packaging import package_voice

CARD = "# precision check\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--text-file", type=Path, required=True, help="id|text lines")
    parser.add_argument("--sampler-config", type=Path, default=None)
    parser.add_argument("--sentences", type=int, default=100)
    args = parser.parse_args()
    chosen = sampler_config.read(args.sampler_config).sampler if args.sampler_config else None
    texts = [line.split("|")[-1] for line in args.text_file.read_text().splitlines()
             if line.strip()][: args.sentences]
    mels, sizes = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for precision in ("fp32", "fp16"):
            voice = package_voice(args.checkpoint, Path(folder) / precision, CARD,
                                  sampler=chosen, precision=precision)
            sizes[precision] = voice.stat().st_size / 1e6
            synth = Synthesizer(voice, vocoder="griffin-lim", device="cpu")
            sampler, std = synth.build_sampler(), synth.bundle.mel_std.view(1, -1, 1)
            mels[precision] = [
                synth.generate_batch([ids], sampler,
                                     generator=torch.Generator().manual_seed(0)).mel * std
                for ids in (synth.sentences(text)[0][1] for text in texts)]
    largest, means, frames_differ = 0.0, [], 0
    for a, b in zip(mels["fp32"], mels["fp16"]):
        if a.shape != b.shape:
            frames_differ += 1  # a duration rounded the other way
            continue
        difference = (a - b).abs()
        largest = max(largest, float(difference.max()))
        means.append(float(difference.mean()))
    print(f"{len(texts)} sentences; voice files: fp32 {sizes['fp32']:.1f} MB, "
          f"fp16 {sizes['fp16']:.1f} MB")
    print(f"|fp16 - fp32| of the raw log-mel: mean {np.mean(means):.2e}, "
          f"max {largest:.2e}; sentences whose length changed: {frames_differ}")


if __name__ == "__main__":
    main()
