"""Synthesise speech from text with the shipped voice or a trained checkpoint.

  tts-ebm synthesize --text "Hello there." --out hello.wav
  tts-ebm synthesize --checkpoint CKPT --text "Hello there." --out hello.wav
  tts-ebm synthesize --checkpoint CKPT --text-file test.txt --out exp/synth_K4 --steps 4

A text file holds one utterance per line: `text`, `id|text`, or an LJSpeech metadata line
`id|text|normalised text` (the normalised text is used). Each line gives OUT/<id>.wav
(lines without an id are named line<N>); OUT/rtf.json records the real-time factor.
Every line is checked before any audio is generated. The vocoder defaults to the pretrained
HiFi-GAN (hf:facebook/fastspeech2-en-ljspeech/hifigan.bin), falling back to the same generator
packaged offline (hifigan-lj) with a notice when it is neither cached nor downloadable; a vocoder
named with --vocoder must load.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from tts_ebm import controls, sampler_config
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_path, atomic_write_text, write_wav
from tts_ebm.voices import DEFAULT_VOICE

UTTERANCES_PER_BATCH = 8
_ID = re.compile(r"^[\w.-]+$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--checkpoint",
                       help="a trained .ckpt file, a shipped voice's name or "
                            "hf:OWNER/REPO/FILE[@REVISION] (downloaded once, then cached); "
                            "`tts-ebm voices` lists them (default: the shipped voice "
                            f"{DEFAULT_VOICE!r}, with its own sampler settings)")
    model.add_argument("--onnx", type=Path,
                       help="a voice folder from `tts-ebm export-onnx`, run with onnxruntime "
                            "alone (no torch); its K and sampler are fixed at export, so only "
                            "--temperature, --length-scale and --seed apply")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="text to speak (long text is split into sentences)")
    source.add_argument("--text-file", type=Path, help="one utterance per line (`[id|]text`)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output .wav (with --text) or folder (with --text-file, or --text "
                             "and a path not ending in .wav)")
    parser.add_argument("--vocoder", default=None,
                        help="hf:OWNER/REPO/FILE[@REV], pkg:PACKAGE/PATH, hifigan-lj, "
                             "hifigan-universal, a checkpoint path, or griffin-lim (default: "
                             "pretrained HiFi-GAN from the Hub, hifigan-lj if unreachable)")
    parser.add_argument("--sampler-config", type=Path, default=None,
                        help="YAML of sampler settings (its `sampler:` mapping, e.g. one chosen "
                             "on a tune set: egs/mini_bench/conf/chosen/*.yaml); the flags below "
                             "that differ from their defaults override it")
    controls.add_arguments(parser)
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the model and vocoder, on both paths (default: the "
                             "runtime's own choice, usually every core)")
    parser.add_argument("--save-mel", action="store_true",
                        help="also write <id>.npy (raw log-mel, 80 x T) and <id>.png")
    parser.add_argument("--stream", action="store_true",
                        help="with --text and --out -: raw 16-bit mono PCM to standard output, "
                             "each piece as soon as it is vocoded (e.g. `| aplay -r 22050 -f "
                             "S16_LE`); the time to first audio goes to standard error")


def read_text_file(path: Path) -> list[tuple[str, str]]:
    """(id, text) per non-empty line; ids must be unique file-name-safe strings."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UserInputError(f"{path} is not UTF-8 text: {error}") from error
    items: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("|")
        utt_id, text = (f"line{number:04d}", parts[0]) if len(parts) == 1 else (parts[0].strip(), parts[-1])
        if not _ID.match(utt_id):
            raise UserInputError(f"{path} line {number}: id {utt_id!r} is not a safe file name")
        items.append((utt_id, text))
    if not items:
        raise UserInputError(f"{path} holds no text")
    ids = [utt_id for utt_id, _ in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise UserInputError(f"{path}: duplicate ids {duplicates[:5]}")
    return items


def save_mel(stem: Path, mel: np.ndarray) -> None:
    """<stem>.npy (raw log-mel) and <stem>.png (its plot), each written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with atomic_path(stem.with_suffix(".npy")) as tmp, open(tmp, "wb") as handle:
        np.save(handle, mel.astype(np.float32))
    with atomic_path(stem.with_suffix(".png")) as tmp:
        figure, axis = plt.subplots(figsize=(max(4.0, mel.shape[1] / 60), 3), constrained_layout=True)
        image = axis.imshow(mel, origin="lower", aspect="auto", interpolation="none")
        axis.set(title=f"{stem.name} ({mel.shape[1]} frames)", xlabel="frame", ylabel="mel bin")
        figure.colorbar(image, ax=axis)
        figure.savefig(tmp, format="png", dpi=100)
        plt.close(figure)


class _TimedVocoder:
    """The synthesizer's vocoder with its wall time added up, so that rtf.json can split the
    acoustic model's time from the vocoder's (both vocoders return CPU tensors: no sync needed)."""

    def __init__(self, vocoder) -> None:
        self.vocoder, self.seconds = vocoder, 0.0
        self.sample_rate, self.hop_length = vocoder.sample_rate, vocoder.hop_length

    def __call__(self, log_mel):
        began = time.perf_counter()
        wav = self.vocoder(log_mel)
        self.seconds += time.perf_counter() - began
        return wav


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.text is not None:
        items = [("utterance", args.text)]
        single_file = args.out.suffix.lower() == ".wav"
    else:
        if not args.text_file.is_file():
            raise FileNotFoundError(f"text file not found: {args.text_file}")
        items = read_text_file(args.text_file)
        single_file = False
    if not single_file and args.out.exists() and not args.out.is_dir():
        raise UserInputError(f"--out {args.out} exists and is not a folder")

    chosen = controls.SynthesisControls.from_args(args)  # bad values fail before any work
    if args.sampler_config is not None:
        chosen = sampler_config.read(args.sampler_config).sampler.overridden_by(chosen)
    if args.threads is not None and args.threads < 1:
        raise UserInputError(f"--threads must be >= 1, got {args.threads}")
    if args.stream and (args.text is None or str(args.out) != "-" or args.save_mel):
        raise UserInputError("--stream writes raw audio to standard output: give it --text "
                             "and --out - (and no --save-mel)")
    if args.onnx is not None:
        return run_onnx(args, items, single_file, chosen)
    import torch  # not on the ONNX path

    from tts_ebm.synthesis import Synthesizer

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    synth = Synthesizer(args.checkpoint, vocoder=args.vocoder, device=args.device)
    if args.stream:
        _ = synth.vocoder  # loaded before the clock starts
        return stream_raw(lambda: synth.stream(args.text, chosen), synth.sample_rate)
    sampler = synth.build_sampler(chosen)
    for number, (utt_id, text) in enumerate(items, start=1):
        try:
            synth.sentences(text)
        except UserInputError as error:
            where = f"{args.text_file} line {number} ({utt_id})" if args.text_file else "--text"
            raise UserInputError(f"{where}: {error}") from error

    out_dir = args.out.parent if single_file else args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    timed_vocoder = synth.vocoder = _TimedVocoder(synth.vocoder)  # loaded here, not timed
    synth_seconds = audio_seconds = 0.0
    progress = tqdm(total=len(items), unit="utt", disable=len(items) == 1)
    for batch_index, start in enumerate(range(0, len(items), UTTERANCES_PER_BATCH)):
        batch = items[start:start + UTTERANCES_PER_BATCH]
        seed = None if chosen.seed is None else chosen.seed + batch_index
        began = time.perf_counter()
        utterances = synth.synthesize_utterances([text for _, text in batch], chosen, seed=seed)
        synth_seconds += time.perf_counter() - began
        for (utt_id, _), utterance in zip(batch, utterances):
            audio_seconds += utterance.seconds
            path = args.out if single_file else out_dir / f"{utt_id}.wav"
            write_wav(path, utterance.waveform, synth.sample_rate)
            if args.save_mel:
                save_mel(path.with_suffix(""), utterance.mel)
        progress.update(len(batch))
    progress.close()

    rtf = synth_seconds / max(audio_seconds, 1e-9)
    if not single_file:
        report = {"rtf": rtf, "steps": sampler.steps, "n_utterances": len(items),
                  "synth_seconds": synth_seconds, "audio_seconds": audio_seconds,
                  "acoustic_seconds": synth_seconds - timed_vocoder.seconds,
                  "vocoder_seconds": timed_vocoder.seconds,
                  "sampler": chosen.sampler or synth.bundle.config.sampler.name,
                  "device": str(synth.device)}
        atomic_write_text(out_dir / "rtf.json", json.dumps(report, indent=2) + "\n")
    print(f"wrote {len(items)} utterance(s), {audio_seconds:.1f} s of audio to {args.out} "
          f"(RTF {rtf:.3f})")
    return 0


# what an exported graph fixes, by the option that would change it
FIXED_BY_EXPORT = {"sampler": "--sampler", "step_size": "--step-size",
                   "n_candidates": "--n-candidates", "pitch_shift": "--pitch-shift",
                   "pitch_range": "--pitch-range"}


def stream_raw(pieces: Callable[[], Iterator[np.ndarray]], sample_rate: int) -> int:
    """Write each waveform piece to standard output as 16-bit PCM the moment it exists; report
    the time to the first piece and the real-time factor on standard error."""
    out = sys.stdout.buffer
    began, first, samples = time.perf_counter(), None, 0
    for piece in pieces():
        out.write(np.rint(np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes())
        out.flush()
        first = time.perf_counter() - began if first is None else first
        samples += len(piece)
    seconds = samples / sample_rate
    print(f"streamed {seconds:.1f} s of 16-bit mono PCM at {sample_rate} Hz; first audio after "
          f"{first:.3f} s, RTF {(time.perf_counter() - began) / max(seconds, 1e-9):.3f}",
          file=sys.stderr)
    return 0


def run_onnx(args: argparse.Namespace, items: list[tuple[str, str]], single_file: bool,
             chosen: controls.SynthesisControls) -> int:
    """The exported voice through onnxruntime alone (tts_ebm.onnx_runtime): torch is never
    imported, so a deployment needs onnxruntime, numpy and the text front end only."""
    from tts_ebm.onnx_runtime import OnnxVoice

    defaults = controls.SynthesisControls()
    fixed = [flag for name, flag in FIXED_BY_EXPORT.items()
             if getattr(chosen, name) != getattr(defaults, name)]
    fixed += [flag for flag, value in (("--vocoder", args.vocoder), ("--device", args.device),
                                       ("--save-mel", args.save_mel)) if value]
    if fixed:
        raise UserInputError(f"{', '.join(fixed)}: fixed when the voice was exported (or not "
                             "available) with --onnx; export it again to change them")
    voice = OnnxVoice(args.onnx, threads=args.threads)
    if chosen.steps is not None and chosen.steps != voice.config["steps"]:
        raise UserInputError(f"{args.onnx} was exported with K = {voice.config['steps']}; "
                             f"export it again with --steps {chosen.steps}")
    if args.stream:
        return stream_raw(lambda: voice.stream(args.text, temperature=chosen.temperature,
                                               length_scale=chosen.length_scale,
                                               seed=chosen.seed), voice.sample_rate)
    out_dir = args.out.parent if single_file else args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    synth_seconds = audio_seconds = 0.0
    for number, (utt_id, text) in enumerate(items):
        began = time.perf_counter()
        wav = voice.synthesize(text, temperature=chosen.temperature,
                               length_scale=chosen.length_scale,
                               seed=None if chosen.seed is None else chosen.seed + number)
        synth_seconds += time.perf_counter() - began
        audio_seconds += len(wav) / voice.sample_rate
        write_wav(args.out if single_file else out_dir / f"{utt_id}.wav", wav, voice.sample_rate)
    rtf = synth_seconds / max(audio_seconds, 1e-9)
    if not single_file:
        report = {"rtf": rtf, "steps": voice.config["steps"], "n_utterances": len(items),
                  "synth_seconds": synth_seconds, "audio_seconds": audio_seconds,
                  "runtime": "onnxruntime"}
        atomic_write_text(out_dir / "rtf.json", json.dumps(report, indent=2) + "\n")
    print(f"wrote {len(items)} utterance(s), {audio_seconds:.1f} s of audio to {args.out} "
          f"(RTF {rtf:.3f}, onnxruntime)")
    return 0
