"""Time to first audio and real-time factor of both paths, onnxruntime's graph optimisation
levels, and an int8 HiFi-GAN: measured side by side in one run on an exported voice.

    .venv/bin/python benchmarks/onnx_latency.py --checkpoint CKPT --voice VOICE \\
        --mels egs/mini/dump/mels --ids egs/mini/dump/test_text.txt --out /tmp/int8

1. A 3-sentence paragraph on one thread: the time to the first piece of `Synthesizer.stream`
   (PyTorch) and `OnnxVoice.stream` (onnxruntime), and the whole paragraph's real-time factor
   (`synthesize`), acoustic model and vocoder apart.
2. vocoder.onnx at each graph optimisation level (disabled, basic, extended, all), one thread.
3. vocoder.onnx quantised to int8 (static, QDQ, per channel, calibrated on 8 mels of --mels
   that --ids does not name), timed against fp32; then the copy synthesis of every --ids mel
   through both into OUT/fp32/ and OUT/int8/, for `tts-ebm evaluate` to judge what int8 costs.

Times are the best of --repeats after a warm-up; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from tts_ebm.io import write_wav
from tts_ebm.onnx_runtime import OnnxVoice
from tts_ebm.synthesis import Synthesizer

PARAGRAPH = ("Printing, in the only sense with which we are at present concerned, differs from "
             "most if not from all the arts. The earliest book printed with movable types was "
             "the Gutenberg Bible. It was printed in Latin.")
LEVELS = {"disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
          "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
          "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}


def best(function, repeats: int) -> float:
    function()
    return min(_timed(function) for _ in range(repeats))


def _timed(function) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def first_piece(pieces) -> float:
    began = time.perf_counter()
    next(iter(pieces))
    return time.perf_counter() - began


def session(path: Path, level: ort.GraphOptimizationLevel) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = level
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def vocode(vocoder: ort.InferenceSession, mel: np.ndarray) -> np.ndarray:
    return vocoder.run(None, {"mel": mel[None].astype(np.float32)})[0].reshape(-1)


class Calibration(CalibrationDataReader):
    """The mels that int8's ranges are calibrated on."""

    def __init__(self, mels: list[np.ndarray]) -> None:
        self.items = iter([{"mel": m[None].astype(np.float32)} for m in mels])

    def get_next(self) -> dict | None:
        return next(self.items, None)


def quantise(voice: Path, calibration: list[np.ndarray], out: Path) -> Path:
    prepared, target = out / "vocoder_prepared.onnx", out / "vocoder_int8.onnx"
    quant_pre_process(str(voice / "vocoder.onnx"), str(prepared))
    quantize_static(str(prepared), str(target), Calibration(calibration),
                    quant_format=QuantFormat.QDQ, per_channel=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--voice", type=Path, required=True, help="its export-onnx folder")
    parser.add_argument("--mels", type=Path, required=True, help="raw log-mel .npy folder")
    parser.add_argument("--ids", type=Path, required=True, help="id|text lines to copy-synthesise")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    synth = Synthesizer(args.checkpoint, vocoder="hifigan-lj", device="cpu")
    voice = OnnxVoice(args.voice, threads=1)
    steps = voice.config["steps"]
    audio = len(voice.synthesize(PARAGRAPH, temperature=0.0)) / voice.sample_rate
    print(f"1. {len(PARAGRAPH.split('. '))} sentences, {audio:.1f} s of audio, K = {steps}, "
          "one thread (best of", args.repeats, "after a warm-up)\n")
    print("| path | first audio [s] | whole paragraph [s] | RTF |\n|---|---|---|---|")
    for name, stream, whole in (
            ("PyTorch", lambda: synth.stream(PARAGRAPH, steps=steps, temperature=0.0),
             lambda: synth.synthesize(PARAGRAPH, steps=steps, temperature=0.0)),
            ("onnxruntime", lambda: voice.stream(PARAGRAPH, temperature=0.0),
             lambda: voice.synthesize(PARAGRAPH, temperature=0.0))):
        first = min(first_piece(stream()) for _ in range(args.repeats + 1))
        seconds = best(whole, args.repeats)
        print(f"| {name} | {first:.3f} | {seconds:.2f} | {seconds / audio:.3f} |")

    ids = [line.split("|")[0] for line in args.ids.read_text().splitlines() if line.strip()]
    paragraph_mel = np.concatenate([np.load(args.mels / f"{i}.npy") for i in ids[:3]], axis=1)
    seconds_of_mel = paragraph_mel.shape[1] * voice.hop_length / voice.sample_rate
    print(f"\n2. vocoder.onnx on {seconds_of_mel:.1f} s of mel, one thread\n")
    print("| graph optimisation | seconds | RTF |\n|---|---|---|")
    for name, level in LEVELS.items():
        vocoder = session(args.voice / "vocoder.onnx", level)
        seconds = best(lambda v=vocoder: vocode(v, paragraph_mel), args.repeats)
        print(f"| {name} | {seconds:.2f} | {seconds / seconds_of_mel:.3f} |")

    others = sorted(p.stem for p in args.mels.glob("*.npy") if p.stem not in set(ids))[:8]
    started = time.perf_counter()
    int8 = quantise(args.voice, [np.load(args.mels / f"{i}.npy") for i in others], args.out)
    print(f"\n3. int8 HiFi-GAN: quantised in {time.perf_counter() - started:.0f} s, "
          f"{int8.stat().st_size / 1e6:.1f} MB against "
          f"{(args.voice / 'vocoder.onnx').stat().st_size / 1e6:.1f} MB\n")
    print("| vocoder | seconds | RTF |\n|---|---|---|")
    sessions = {"fp32": session(args.voice / "vocoder.onnx", LEVELS["all"]),
                "int8": session(int8, LEVELS["all"])}
    for name, vocoder in sessions.items():
        seconds = best(lambda v=vocoder: vocode(v, paragraph_mel), args.repeats)
        print(f"| {name} | {seconds:.2f} | {seconds / seconds_of_mel:.3f} |")
    for name, vocoder in sessions.items():
        for utt in ids:
            mel = np.load(args.mels / f"{utt}.npy")
            wav = vocode(vocoder, mel)[: mel.shape[1] * voice.hop_length]
            write_wav(args.out / name / f"{utt}.wav", wav, voice.sample_rate)
    print(f"\ncopy synthesis of {len(ids)} mels in {args.out}/fp32 and {args.out}/int8")


if __name__ == "__main__":
    main()
