"""HiFi-GAN V1 speed on CPU: ways of running the same generator, timed side by side.

Every variant vocodes the same real log-mels (the two LJSpeech recordings in tests/data/ljspeech
cut into utterances of --seconds) with the packaged `hifigan-lj` weights. The variants are run
interleaved, round after round in one process, so that load from other processes on a shared
machine falls on all of them alike; the median and the fastest round are reported, with the
process CPU time (all threads) of the median round. `max |diff|` is the largest sample
difference from the project's vocoder (the first row), which is what synthesis uses:
- `vocoder.load("hifigan-lj")`: weight norm folded at load, torch.inference_mode, utterances
  one by one (`Synthesizer` pads a batch; see the batch row);
- torch.no_grad instead of inference_mode; 1 thread instead of --threads;
- weight norm kept as a parametrization (recomputed g·v/‖v‖ in every call);
- all utterances in one zero-padded batch (padding with the silence level, then trimmed):
  the samples within the generator's receptive field of the padding differ;
- torch.compile (inductor, dynamic shapes); its compile time is printed apart;
- bfloat16 autocast (the CPU has AVX512-BF16 here, where oneDNN may use it).
Channels-last memory layout does not apply to 1-D convolutions, so it is not a variant.

  OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/vocoder_speed.py --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

import vocoder
from data_prep.features import MEL, mel_spectrogram
from vocoder.hifigan import Generator, HiFiGANVocoder
from vocoder.loading import package_file, read_config, read_generator_state
from vocoder.spec import parse_spec

CLIPS = Path(__file__).resolve().parents[1] / "tests" / "data" / "ljspeech"
SILENCE = float(np.log(MEL.clamp_min))


def utterance_mels(seconds: float) -> list[torch.Tensor]:
    """Log-mels (1, 80, T) of consecutive `seconds`-long pieces of the recordings."""
    hop = round(seconds * MEL.sample_rate) // MEL.hop_length * MEL.hop_length
    mels = []
    for path in sorted(CLIPS.glob("*.flac")):
        wav = sf.read(path, dtype="float32")[0]
        for start in range(0, len(wav) - hop + 1, hop):
            mels.append(torch.from_numpy(mel_spectrogram(wav[start:start + hop]))[None])
    return mels


def one_by_one(call: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[list], list]:
    return lambda mels: [call(mel)[0] for mel in mels]


def batched(call: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[list], list]:
    def run(mels: list[torch.Tensor]) -> list[torch.Tensor]:
        longest = max(mel.shape[-1] for mel in mels)
        padded = torch.full((len(mels), MEL.n_mels, longest), SILENCE)
        for i, mel in enumerate(mels):
            padded[i, :, : mel.shape[-1]] = mel[0]
        wav = call(padded)
        return [wav[i, : mel.shape[-1] * MEL.hop_length] for i, mel in enumerate(mels)]

    return run


def raw_generator(generator: torch.nn.Module, context: Callable[[], contextlib.AbstractContextManager]):
    """Generator call without the wrapper's checks, under `context` (no_grad, autocast...)."""

    def call(mel: torch.Tensor) -> torch.Tensor:
        with context():
            return generator(mel).squeeze(1).float()

    return call


def parametrized_generator() -> Generator:
    """The packaged weights in a generator that keeps weight norm as a parametrization."""
    checkpoint = package_file(parse_spec("hifigan-lj"))
    generator = Generator(read_config(checkpoint.parent / "config.json"))
    generator.load_state_dict(read_generator_state(checkpoint))
    return generator.eval()


def variants(threads: int) -> tuple[dict[str, tuple[int, Callable[[list], list]]], float]:
    """name -> (threads, run over all utterances); and torch.compile's compile seconds."""
    voc: HiFiGANVocoder = vocoder.load("hifigan-lj", "cpu")  # type: ignore[assignment]
    plain = voc.generator
    compiled = torch.compile(plain, dynamic=True)
    began = time.perf_counter()
    with torch.inference_mode():
        compiled(torch.full((1, 80, 50), SILENCE))  # compile here, not in the first timed round
        compiled(torch.full((1, 80, 60), SILENCE))
    compile_seconds = time.perf_counter() - began
    bf16 = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    return {
        "vocoder.load (inference_mode, weight norm folded)": (threads, one_by_one(voc)),
        "torch.no_grad instead of inference_mode": (
            threads, one_by_one(raw_generator(plain, torch.no_grad))),
        "1 thread": (1, one_by_one(voc)),
        "weight norm kept (parametrization)": (
            threads, one_by_one(raw_generator(parametrized_generator(), torch.inference_mode))),
        "one padded batch of all utterances": (threads, batched(voc)),
        "torch.compile (inductor, dynamic)": (
            threads, one_by_one(raw_generator(compiled, torch.inference_mode))),
        "bfloat16 autocast": (threads, one_by_one(raw_generator(
            plain, lambda: _stacked(torch.inference_mode(), bf16())))),
    }, compile_seconds


@contextlib.contextmanager
def _stacked(*managers: contextlib.AbstractContextManager):
    with contextlib.ExitStack() as stack:
        for manager in managers:
            stack.enter_context(manager)
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="length of each utterance")
    parser.add_argument("--utterances", type=int, default=4, help="how many pieces to vocode")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mels = utterance_mels(args.seconds)[: args.utterances]
    audio = sum(mel.shape[-1] for mel in mels) * MEL.hop_length / MEL.sample_rate
    runs, compile_seconds = variants(args.threads)
    print(f"compiled in {compile_seconds:.0f} s; warm-up round", file=sys.stderr, flush=True)
    outputs, times = {}, {name: [] for name in runs}
    for name, (threads, run) in runs.items():  # warm-up round, also the outputs compared
        torch.set_num_threads(threads)
        outputs[name] = run(mels)
    for round_ in range(args.rounds):
        print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for name, (threads, run) in runs.items():
            torch.set_num_threads(threads)
            wall, cpu = time.perf_counter(), time.process_time()
            run(mels)
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    reference = outputs[next(iter(runs))]
    print(f"CPU, torch {torch.__version__}, {len(mels)} utterances of {args.seconds} s "
          f"({audio:.1f} s of audio), {args.rounds} interleaved rounds; torch.compile took "
          f"{compile_seconds:.0f} s to compile\n")
    print("| variant | threads | RTF median | RTF best | CPU s (median round) | max abs diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (threads, _) in runs.items():
        walls = [wall for wall, _ in times[name]]
        median = statistics.median(walls)
        cpu = times[name][walls.index(sorted(walls)[len(walls) // 2])][1]
        diff = max(float((a - b).abs().max()) for a, b in zip(outputs[name], reference))
        print(f"| {name} | {threads} | {median / audio:.3f} | {min(walls) / audio:.3f} | "
              f"{cpu:.1f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
