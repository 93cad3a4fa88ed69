"""PyTorch against onnxruntime, measured side by side in one run: the acoustic model (K steps)
and the vocoder apart, on 1 and 2 threads, for a 10-word sentence and a 5-sentence paragraph;
then the whole-process wall time of `tts-ebm synthesize` on both paths for a sentence file.

    .venv/bin/tts-ebm export-onnx --checkpoint CKPT --steps 2 --vocoder hifigan-lj --out VOICE
    .venv/bin/python benchmarks/onnx_speed.py --checkpoint CKPT --voice VOICE \\
        --text-file egs/mini/data/dev/dump/test_text.txt --sentences 30

Both paths synthesise the same text at the voice's K and τ = 0 (μ itself as the start, so no
noise differs); times are the best of --repeats passes after one warm-up. Run it on an idle
machine: a ratio is only as good as the quiet around it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from tts_ebm.controls import SynthesisControls
from tts_ebm.onnx_runtime import OnnxVoice
from tts_ebm.synthesis import Synthesizer
from tts_ebm.text import split_sentences, text_to_ids

SENTENCE = "The energy decides which of the many possible spectrograms is spoken aloud."
PARAGRAPH = ("Printing, in the only sense with which we are at present concerned, differs from "
             "most if not from all the arts. The earliest book printed with movable types was "
             "the Gutenberg Bible. It was printed in Latin. Its type is a very fine one. The "
             "paper is strong and white.")


class TimedVocoder:
    """The synthesizer's vocoder, with the seconds spent in it added up."""

    def __init__(self, vocoder) -> None:
        self.vocoder, self.seconds = vocoder, 0.0
        self.sample_rate, self.hop_length = vocoder.sample_rate, vocoder.hop_length

    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor:
        began = time.perf_counter()
        wav = self.vocoder(log_mel)
        self.seconds += time.perf_counter() - began
        return wav


def best(function, *args, repeats: int) -> tuple[float, float]:
    """(acoustic seconds, vocoder seconds) of the fastest of `repeats` calls after a warm-up."""
    function(*args)
    return min((function(*args) for _ in range(repeats)), key=sum)


def torch_times(synth: Synthesizer, timed: TimedVocoder, controls: SynthesisControls,
                text: str) -> tuple[float, float]:
    timed.seconds = 0.0
    began = time.perf_counter()
    synth.synthesize_utterances([text], controls, vocoder=timed)
    total = time.perf_counter() - began
    return total - timed.seconds, timed.seconds


def onnx_times(voice: OnnxVoice, text: str) -> tuple[float, float]:
    acoustic = vocoder = 0.0
    for sentence in split_sentences(text):
        began = time.perf_counter()
        mel = voice.mel(text_to_ids(sentence, voice.symbols, voice.language), temperature=0.0)
        middle = time.perf_counter()
        voice.vocode(mel)
        acoustic, vocoder = acoustic + middle - began, vocoder + time.perf_counter() - middle
    return acoustic, vocoder


def whole_process(args: argparse.Namespace, threads: int) -> dict[str, float]:
    """Wall seconds of `tts-ebm synthesize` for the first --sentences lines, each path."""
    lines = args.text_file.read_text(encoding="utf-8").splitlines()[: args.sentences]
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        texts = Path(folder) / "texts.txt"
        texts.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for name, model in (("pytorch", ["--checkpoint", str(args.checkpoint), "--vocoder",
                                         "hifigan-lj", "--steps", str(args.steps)]),
                            ("onnx", ["--onnx", str(args.voice)])):
            began = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tts_ebm.cli", "synthesize", *model,
                            "--text-file", str(texts), "--out", f"{folder}/{name}",
                            "--temperature", "0", "--threads", str(threads)],
                           check=True, capture_output=True)
            seconds[name] = time.perf_counter() - began
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--voice", type=Path, required=True, help="its export-onnx folder")
    parser.add_argument("--text-file", type=Path, required=True, help="[id|]text lines")
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.steps = json.loads((args.voice / "voice.json").read_text())["steps"]
    header = ("| threads | text | PyTorch acoustic [s] | ONNX acoustic [s] | ratio | "
              "PyTorch vocoder [s] | ONNX vocoder [s] | ratio |")
    rows = [header, "|" + "---|" * 8]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        synth = Synthesizer(args.checkpoint, vocoder="hifigan-lj", device="cpu")
        timed, controls = TimedVocoder(synth.vocoder), SynthesisControls(steps=args.steps,
                                                                         temperature=0.0)
        voice = OnnxVoice(args.voice, threads=threads)
        for label, text in (("10 words", SENTENCE), ("5 sentences", PARAGRAPH)):
            pt = best(torch_times, synth, timed, controls, text, repeats=args.repeats)
            ox = best(onnx_times, voice, text, repeats=args.repeats)
            rows.append(f"| {threads} | {label} | {pt[0]:.3f} | {ox[0]:.3f} | "
                        f"{ox[0] / pt[0]:.2f} | {pt[1]:.3f} | {ox[1]:.3f} | {ox[1] / pt[1]:.2f} |")
    print("\n".join(rows))
    print(f"\nWhole process, `tts-ebm synthesize` of {args.sentences} sentences (import, load, "
          "synthesis, writing):")
    for threads in (1, 2):
        seconds = whole_process(args, threads)
        print(f"- {threads} thread(s): PyTorch {seconds['pytorch']:.1f} s, ONNX "
              f"{seconds['onnx']:.1f} s, ratio {seconds['onnx'] / seconds['pytorch']:.2f}")


if __name__ == "__main__":
    main()
