"""A full-size stand-in for LJSpeech-1.1: its 13 100 texts spoken offline by festival's slt voice.

LJSpeech (2.6 GB) cannot be downloaded everywhere, and the ljspeech recipe must still be run
whole at its size. The stand-in has the real layout, ids and split, so the recipe runs on it
unchanged and downloads nothing:

    python -m data_prep.ljspeech_standin --out DIR [--jobs N] [--limit N]   # or: make ljspeech-standin
    bash egs/ljspeech/run.sh --data_dir DIR ...

It writes DIR/LJSpeech-1.1/metadata.csv (id|text|normalised text) and wavs/<id>.wav (22 050 Hz
mono PCM 16-bit). The project ships only the normalised text (LJSpeech's third column), so both
text columns hold it. `--jobs` festival processes speak at once; a rerun keeps every wav already
complete, and metadata.csv appears only when all wavs are there, so a half-made stand-in is never
taken for a corpus. DIR/LJSpeech-1.1/STANDIN.txt marks it, and a real LJSpeech is never touched.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from data_prep.ljspeech import CORPUS_NAME
from data_prep.manifests import atomic_write_text, corpus_sentences
from data_prep.mini import speak_corpus_wavs
from data_prep.voices import DEFAULT_VOICE, get_voice
from tts_ebm.errors import UserInputError

MARKER = "STANDIN.txt"  # what tells the stand-in from a real LJSpeech-1.1 in the same place


def standin_texts(limit: int = 0) -> dict[str, str]:
    """id -> text of the stand-in: all 13 100 LJSpeech clips in corpus order, or the first `limit`."""
    if limit < 0:
        raise UserInputError(f"--limit must be 0 (all) or positive, not {limit}")
    texts = corpus_sentences()
    return dict(list(texts.items())[:limit]) if limit else texts


def _claim(corpus: Path) -> None:
    """Mark corpus as a stand-in, or refuse when it holds a real LJSpeech (or anything else)."""
    if (corpus / "metadata.csv").is_file() and not (corpus / MARKER).is_file():
        raise UserInputError(
            f"{corpus} holds a metadata.csv that this command did not write (a real LJSpeech?); "
            f"choose another --out rather than mixing synthetic clips into it"
        )
    (corpus / "wavs").mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        corpus / MARKER,
        f"A stand-in for {CORPUS_NAME}, not the real recordings: the LJSpeech texts spoken by "
        f"the festival voice {DEFAULT_VOICE} (python -m data_prep.ljspeech_standin).\n",
    )


def build_standin(out: str | Path, jobs: int = 2, limit: int = 0) -> tuple[Path, int, int]:
    """Write OUT/LJSpeech-1.1 (all clips, or the first `limit`).

    Returns the corpus folder, its number of clips and how many of them were spoken now.
    """
    if jobs < 1:
        raise UserInputError(f"--jobs must be at least 1, not {jobs}")
    texts = standin_texts(limit)
    get_voice(DEFAULT_VOICE).require()
    corpus = Path(out) / CORPUS_NAME
    _claim(corpus)
    spoken = speak_corpus_wavs(DEFAULT_VOICE, texts, corpus / "wavs", jobs, desc=CORPUS_NAME)
    atomic_write_text(
        corpus / "metadata.csv", "".join(f"{u}|{t}|{t}\n" for u, t in texts.items())
    )
    return corpus, len(texts), spoken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help=f"folder to hold {CORPUS_NAME}/")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1,
        help="festival processes speaking at once (default: every core, %(default)s)",
    )
    parser.add_argument(
        "--limit", type=int, default=0,
        help="only the first N ids, for tests and smoke runs (default: 0, all 13 100)",
    )
    args = parser.parse_args(argv)
    try:
        corpus, total, spoken = build_standin(args.out, args.jobs, args.limit)
    except UserInputError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{corpus}: {total} clips ({spoken} spoken now, {total - spoken} already there); "
          f"run the recipe with --data_dir {Path(args.out).resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
