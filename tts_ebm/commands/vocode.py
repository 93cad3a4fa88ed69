"""Turn raw log-mel .npy files into speech with a vocoder (copy synthesis).

  tts-ebm vocode --mels dump/mels --ids dump/test_text.txt --out exp/copy_synthesis/synth \
      --vocoder griffin-lim

Each MELS/<id>.npy (a raw log-mel of shape 80 x T: the feature dump's mels, or what
`tts-ebm synthesize --save-mel` writes) gives OUT/<id>.wav (16-bit, 22 050 Hz). Vocoding the
reference mels of a test set gives the copy-synthesis ceiling: what any acoustic model would
score with a perfect mel and this vocoder. OUT/rtf.json records the vocoder's real-time factor.
--ids restricts the work to a list of ids: one per line, or `id|text` lines.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text, write_wav


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mels", type=Path, required=True,
                        help="folder of <id>.npy raw log-mels (80 x T)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <id>.wav files")
    parser.add_argument("--vocoder", default=None,
                        help="vocoder spec as for `tts-ebm synthesize --vocoder` (griffin-lim, "
                             "hifigan-lj, hf:..., a checkpoint path; default: the same default)")
    parser.add_argument("--ids", type=Path, default=None,
                        help="only these ids: a file with one id per line or `id|text` lines")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if present)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def read_ids(path: Path) -> list[str]:
    """The ids of a file of `id` or `id|text` lines (blank lines skipped)."""
    if not path.is_file():
        raise FileNotFoundError(f"id file not found: {path}")
    ids = [line.split("|")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
           if line.strip()]
    if not ids:
        raise UserInputError(f"{path} lists no ids")
    return ids


def select_mels(folder: Path, ids: list[str] | None) -> dict[str, Path]:
    """`{id: path}` of the mels to vocode; every requested id must have its file."""
    if not folder.is_dir():
        raise FileNotFoundError(f"mel folder not found: {folder}")
    available = {p.stem: p for p in sorted(folder.glob("*.npy")) if p.is_file()}
    if ids is None:
        if not available:
            raise UserInputError(f"no <id>.npy mels in {folder}")
        return available
    missing = [i for i in ids if i not in available]
    if missing:
        raise UserInputError(f"{len(missing)} ids have no mel in {folder}: {', '.join(missing[:10])}")
    return {i: available[i] for i in ids}


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    import vocoder as vocoders
    from data_prep.features import MEL
    from tts_ebm.evaluation.mel_metrics import load_mel
    from vocoder.device import resolve_device

    mels = select_mels(args.mels, read_ids(args.ids) if args.ids else None)
    if args.out.exists() and not args.out.is_dir():
        raise UserInputError(f"--out {args.out} exists and is not a folder")
    device = resolve_device(args.device)
    voc = vocoders.load_or_fallback(args.vocoder, device)
    if (voc.sample_rate, voc.hop_length) != (MEL.sample_rate, MEL.hop_length):
        raise UserInputError(f"the vocoder works at {voc.sample_rate} Hz with hop {voc.hop_length}, "
                             f"but the mels are {MEL.sample_rate} Hz with hop {MEL.hop_length}")
    args.out.mkdir(parents=True, exist_ok=True)
    vocoder_seconds = audio_seconds = 0.0
    for utt_id, path in tqdm(mels.items(), desc="vocode", unit="utt", disable=args.no_progress):
        mel = load_mel(path)
        if mel.shape[0] != MEL.n_mels:
            raise UserInputError(f"{path}: expected {MEL.n_mels} mel bins, got {mel.shape[0]}")
        began = time.perf_counter()
        wav = voc(torch.from_numpy(mel.astype(np.float32))[None].to(device))[0].cpu().numpy()
        vocoder_seconds += time.perf_counter() - began
        audio_seconds += len(wav) / voc.sample_rate
        write_wav(args.out / f"{utt_id}.wav", wav, voc.sample_rate)

    report = {"rtf": vocoder_seconds / max(audio_seconds, 1e-9), "n_utterances": len(mels),
              "vocoder_seconds": vocoder_seconds, "audio_seconds": audio_seconds,
              "vocoder": args.vocoder or "default", "device": str(device)}
    atomic_write_text(args.out / "rtf.json", json.dumps(report, indent=2) + "\n")
    print(f"wrote {len(mels)} utterance(s), {audio_seconds:.1f} s of audio to {args.out} "
          f"(vocoder RTF {report['rtf']:.3f})")
    return 0
