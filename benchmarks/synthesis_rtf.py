"""Real-time factor of synthesis on CPU, side by side with Matcha-TTS's flow-matching decoder.

Measures, for one sentence and one mel length, with torch.set_num_threads(2) and random weights:
- the tts-ebm acoustic model (text encoder + durations + K gradient steps on the energy),
  LJSpeech-sized and tiny, at K = 0 (encoder and one energy evaluation), 1, 2, 4, 10;
- Matcha-TTS's decoder (`matcha.models.components.decoder.Decoder`, LJSpeech decoder
  config) in the Euler loop of its CFM at 2, 4, 10 steps — a reference decoder of similar
  size; its text encoder is not included;
- HiFi-GAN V1 alone;
- end to end (`Synthesizer`: front end + acoustic model + HiFi-GAN V1) at each K.
RTF = wall time / audio duration (lower is faster; < 1 is faster than real time); the
process CPU time of the same run is printed beside it (about 2x wall when both threads work).

The random-weight duration predictor would give ~1 frame per phoneme, so `length_scale` is
calibrated to reach --seconds of audio; every system then works on the same number of frames.

Matcha-TTS pins its own torch, so install it apart from the project's venv, e.g.
  pip install --no-deps --target /tmp/matcha matcha-tts einops conformer diffusers
and pass --matcha-path /tmp/matcha (added to sys.path only here). Without it, those rows are
skipped with a note.

  .venv/bin/python benchmarks/synthesis_rtf.py --matcha-path /tmp/matcha
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from tts_ebm import Synthesizer, samplers
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.text import SymbolTable, text_to_ids
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig
from vocoder.hifigan import Generator, HiFiGANConfig, HiFiGANVocoder

SENTENCE = "Printing, in the only sense with which we are at present concerned, differs from most."
SAMPLE_RATE, HOP = 22050, 256
STEPS = (0, 1, 2, 4, 10)
MATCHA_STEPS = (2, 4, 10)
MATCHA_DECODER = {  # Matcha-TTS configs/model/decoder/default.yaml (LJSpeech)
    "channels": [256, 256], "dropout": 0.05, "attention_head_dim": 64, "n_blocks": 1,
    "num_mid_blocks": 2, "num_heads": 2, "act_fn": "snakebeta",
}


def best_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(wall, process CPU) seconds of the fastest of `repeats` calls after one warm-up call.

    On a shared CPU the minimum (as in `timeit`) is the least disturbed by other processes;
    CPU time (all threads) is reported beside it because it is less sensitive to them.
    """
    fn()
    times = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(times)


def n_params(module: torch.nn.Module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def tokens_for(text: str) -> tuple[torch.Tensor, torch.Tensor]:
    ids = text_to_ids(text, SymbolTable.default())
    return torch.tensor([ids]), torch.tensor([len(ids)])


def calibrate_length_scale(model: AcousticModel, tokens, lengths, frames: int) -> tuple[float, int]:
    """length_scale giving about `frames` frames with this (random) duration predictor."""
    sampler = samplers.build("gd", steps=0)
    scale = 1.0
    for _ in range(3):
        got = int(model.generate(tokens, lengths, sampler, length_scale=scale).durations.sum())
        scale *= frames / got
    return scale, int(model.generate(tokens, lengths, sampler, length_scale=scale).durations.sum())


def acoustic_rows(
    name: str, config: ModelConfig, frames: int, repeats: int
) -> tuple[list, float, int]:
    torch.manual_seed(0)
    model = AcousticModel(config, n_symbols=len(SymbolTable.default())).eval()
    tokens, lengths = tokens_for(SENTENCE)
    scale, got = calibrate_length_scale(model, tokens, lengths, frames)
    rows = []
    for k in STEPS:
        sampler = samplers.build("gd", steps=k)
        seconds = best_seconds(
            lambda sampler=sampler: model.generate(tokens, lengths, sampler, scale), repeats
        )
        rows.append((f"tts-ebm acoustic model, {name}", k, n_params(model.field), got, seconds))
    return rows, scale, got


def matcha_rows(path: Path | None, frames: int, repeats: int) -> tuple[list, str]:
    """Matcha's decoder with the Euler loop of its CFM.solve_euler (CFM itself would import
    hydra through matcha.utils)."""
    if path is None:
        return [], "Matcha-TTS rows skipped: no --matcha-path given"
    sys.path.insert(0, str(path))
    try:
        with warnings.catch_warnings():  # diffusers' deprecation notices
            warnings.simplefilter("ignore")
            from matcha.models.components.decoder import Decoder

            torch.manual_seed(0)
            estimator = Decoder(in_channels=160, out_channels=80, **MATCHA_DECODER).eval()
    except ImportError as error:
        return [], f"Matcha-TTS rows skipped: cannot import it from {path} ({error})"
    mu, mask = torch.randn(1, 80, frames), torch.ones(1, 1, frames)

    @torch.inference_mode()
    def solve(n_steps: int) -> torch.Tensor:
        x, dt = torch.randn_like(mu), 1.0 / n_steps
        for i in range(n_steps):
            x = x + dt * estimator(x, mask, mu, torch.tensor([i * dt]))
        return x

    rows = [("Matcha-TTS decoder (Euler ODE; no encoder)", k, n_params(estimator), frames,
             best_seconds(lambda k=k: solve(k), repeats)) for k in MATCHA_STEPS]
    return rows, ""


def hifigan_rows(frames: int, repeats: int) -> tuple[list, HiFiGANVocoder]:
    torch.manual_seed(0)
    generator = Generator(HiFiGANConfig.v1())
    size = n_params(generator)
    voc = HiFiGANVocoder(generator, torch.device("cpu"))
    mel = torch.randn(1, 80, frames) - 5.0
    return [("HiFi-GAN V1", "-", size, frames, best_seconds(lambda: voc(mel), repeats))], voc


def end_to_end_rows(voc: HiFiGANVocoder, scale: float, repeats: int) -> list:
    torch.manual_seed(0)
    config = ExperimentConfig.from_dict({"model": {"preset": "ljspeech"}})
    symbols = SymbolTable.default()
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(symbols))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.ckpt"
        payload = make_payload(config, symbols, [-5.0] * 80, [2.0] * 80, model.state_dict())
        torch.save({"tts_ebm": payload}, path)
        synth = Synthesizer(path, vocoder=voc, device="cpu")
        for k in STEPS[1:]:
            wav = synth.synthesize(SENTENCE, steps=k, length_scale=scale, seed=0)
            seconds = best_seconds(
                lambda k=k: synth.synthesize(SENTENCE, steps=k, length_scale=scale, seed=0),
                repeats,
            )
            rows.append(("end to end: front end + acoustic (LJSpeech) + HiFi-GAN V1", k,
                         n_params(model) + n_params(voc.generator), len(wav) // HOP, seconds))
    return rows


def markdown(rows: list) -> str:
    lines = ["| system | steps | params (M) | frames | audio (s) | wall (s) | RTF | CPU (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, steps, params, frames, (wall, cpu) in rows:
        audio = frames * HOP / SAMPLE_RATE
        lines.append(f"| {name} | {steps} | {params:.2f} | {frames} | {audio:.2f} | "
                     f"{wall:.3f} | {wall / audio:.3f} | {cpu:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matcha-path", type=Path, default=None,
                        help="folder where matcha-tts (+ einops, conformer, diffusers) is installed")
    parser.add_argument("--seconds", type=float, default=3.0, help="audio length to synthesise")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row (the fastest is reported)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = round(args.seconds * SAMPLE_RATE / HOP)
    rows, scale, frames = acoustic_rows("LJSpeech config", ModelConfig.ljspeech(), frames,
                                        args.repeats)
    tiny, _, _ = acoustic_rows("tiny config", ModelConfig.tiny(), frames, args.repeats)
    matcha, note = matcha_rows(args.matcha_path, frames, args.repeats)
    vocoder_rows, voc = hifigan_rows(frames, args.repeats)
    e2e = end_to_end_rows(voc, scale, args.repeats)
    print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, random weights, "
          f"sentence: {SENTENCE!r}; params: energy network / decoder estimator / whole system\n")
    print(markdown(rows + tiny + matcha + vocoder_rows + e2e))
    if note:
        print(f"\n{note}")


if __name__ == "__main__":
    main()
