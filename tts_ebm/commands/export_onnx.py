r"""Export a checkpoint and a HiFi-GAN to ONNX: a voice folder that runs without torch.

  tts-ebm export-onnx --checkpoint exp/delta/train/checkpoints/last.ckpt --steps 2 \
      --vocoder hifigan-lj --out voices/delta_K2

OUT/prior.onnx (text encoder, durations, μ), OUT/steps.onnx (the checkpoint's sampler unrolled
for K = --steps steps: for an energy, each step's gradient ∇ₓE is part of the graph),
OUT/vocoder.onnx and OUT/voice.json (symbols, language, mel statistics, sampler, K, sample
rate). K is fixed at export; export again for another K. Samplers that add noise per step
(langevin, annealed), stop early (tol), rerank candidates or clip gradients are refused.

Synthesis with onnxruntime and numpy alone (plus the espeak-ng front end):

  from tts_ebm.onnx_runtime import OnnxVoice
  wav = OnnxVoice("voices/delta_K2").synthesize("Hello there.", seed=0)  # at voice.sample_rate

Needs the `export` extra (pip install 'tts-ebm[export]': onnx, onnxscript) to export; the
runtime needs only onnxruntime.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tts_ebm.errors import UserInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True,
                        help="a trained .ckpt file, a shipped voice's name or "
                             "hf:OWNER/REPO/FILE[@REVISION], as for `tts-ebm synthesize`")
    parser.add_argument("--steps", type=int, required=True,
                        help="K: sampler steps unrolled into the graph (0 = μ + τ·noise itself)")
    parser.add_argument("--vocoder", default="hifigan-lj",
                        help="HiFi-GAN spec to export beside the acoustic model (hifigan-lj, "
                             "hifigan-universal, hf:..., a checkpoint path; default hifigan-lj, "
                             "packaged, works offline); 'none' exports no vocoder")
    parser.add_argument("--out", type=Path, required=True, help="the voice folder to write")


def run(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise UserInputError(f"--steps must be >= 0, got {args.steps}")
    try:
        from tts_ebm.export.onnx_export import export_voice
    except ImportError as error:
        raise UserInputError(f"exporting needs onnx and onnxscript ({error}): "
                             "pip install 'tts-ebm[export]'") from error
    started = time.perf_counter()
    vocoder = None if args.vocoder.lower() == "none" else args.vocoder
    path = export_voice(args.checkpoint, args.steps, args.out, vocoder=vocoder)
    print(f"wrote {path.parent} (K = {args.steps}) in {time.perf_counter() - started:.0f} s")
    return 0
