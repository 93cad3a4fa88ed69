"""Speak a file of sentences with a local voice into a folder in LJSpeech layout.

The egs recipes for a second English voice and for Catalan use it to make "your own recordings"
offline: OUT/metadata.csv (`id|text`) and OUT/wavs/<id>.wav at the voice's own sample rate, as a
user's folder would be; `tts-ebm prepare folder` then splits it and the features resample it.
A rerun keeps the wavs already spoken.

  python -m data_prep.speak_folder --voice ca-ona --sentences data_prep/resources/catalan_sentences.txt --out data/ona
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from data_prep.voices import VOICES, get_voice
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text


def read_sentences(path: Path, limit: int = 0) -> list[str]:
    """Non-empty lines of `path` (at most `limit` when > 0)."""
    lines = [" ".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines()]
    sentences = [line for line in lines if line]
    if not sentences:
        raise UserInputError(f"{path} holds no sentences")
    return sentences[:limit] if limit > 0 else sentences


def speak_folder(voice: str, sentences: list[str], out: Path, prefix: str, workers: int = 2) -> int:
    """Write OUT/wavs/<prefix>_<n>.wav and OUT/metadata.csv; returns the number of utterances."""
    speaker = get_voice(voice)
    speaker.require()
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    ids = [f"{prefix}_{n:04d}" for n in range(1, len(sentences) + 1)]
    todo = [(u, s) for u, s in zip(ids, sentences) if not _spoken(out / "wavs" / f"{u}.wav")]
    with tempfile.TemporaryDirectory(prefix="tts-ebm-voice-") as tmp:
        jobs = [(text, Path(tmp) / f"{utt}.wav") for utt, text in todo]
        for raw in tqdm(speaker.speak_many(jobs, workers), total=len(jobs), desc=voice, unit="utt"):
            os.replace(raw, out / "wavs" / raw.name)
    atomic_write_text(out / "metadata.csv", "".join(f"{u}|{s}\n" for u, s in zip(ids, sentences)))
    return len(ids)


def _spoken(path: Path) -> bool:
    try:
        return sf.info(path).frames > 0
    except (sf.LibsndfileError, RuntimeError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", choices=list(VOICES), required=True)
    parser.add_argument("--sentences", type=Path, required=True, help="one sentence a line")
    parser.add_argument("--out", type=Path, required=True, help="folder to create or complete")
    parser.add_argument("--limit", type=int, default=0, help="first N sentences (default: all)")
    parser.add_argument("--prefix", default="utt", help="utterance id prefix (default: utt)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    sentences = read_sentences(args.sentences, args.limit)
    n = speak_folder(args.voice, sentences, args.out, args.prefix, args.workers)
    print(f"{n} utterances spoken by {args.voice} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
