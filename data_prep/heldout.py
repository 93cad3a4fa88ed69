"""Held-out sentence sets for choosing model designs without touching any test set.

Three sets, each written as a small corpus in the LJSpeech layout whose manifests put every
utterance in the test split (and in train, only so that feature extraction has statistics; a
checkpoint brings its own), so that recipe stages 2 and 4-6 run on it unchanged:
- `dev`: 60 LJSpeech sentences of the train split that neither the demo's nor the benchmark's
  mini corpus trains on; design sweeps are judged here (issue 20).
- `tune`: 100 more such sentences, none of them in `dev`; the benchmark's settings (lr, tau,
  step size, K, noise) are chosen here, per criterion, by one declared rule (issue 21).
- `unseen`: sentences written for this project (resources/unseen_sentences.txt), in no split of
  any corpus; a final check that gains generalise, never used for a choice.

    python -m data_prep.heldout --set dev|tune|unseen --out DIR [--voice hts-slt] [--workers 2]
    tts-ebm prepare features --manifest-dir DIR/manifests --out DIR/dump
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from data_prep.ljspeech import write_manifests
from data_prep.manifests import atomic_write_text, corpus_sentences, standard_split
from data_prep.mini import MAX_CHARS, MIN_CHARS, choose_ids, speak_corpus_wavs
from data_prep.voices import DEFAULT_VOICE, get_voice

UNSEEN_FILE = Path(__file__).parent / "resources" / "unseen_sentences.txt"
DEV_SIZE = 60
TUNE_SIZE = 100
# (n_train, n_val, n_test) of the mini corpora whose training sentences the dev set avoids:
# egs/mini (make demo) and egs/mini_bench (make bench), both with seed 0.
MINI_CORPORA = ((1000, 20, 12), (2400, 20, 100))


def _unused_train_sentences() -> list[str]:
    """LJSpeech train-split ids of MIN_CHARS..MAX_CHARS characters that no mini corpus uses."""
    texts = corpus_sentences()
    used: set[str] = set()
    for n_train, n_val, n_test in MINI_CORPORA:
        chosen = choose_ids({"train": n_train, "val": n_val, "test": n_test}, seed=0)
        used.update(utt for ids in chosen.values() for utt in ids)
    return [u for u in standard_split()["train"]
            if MIN_CHARS <= len(texts[u]) <= MAX_CHARS and u not in used]


def dev_sentences(size: int = DEV_SIZE, seed: int = 0) -> dict[str, str]:
    """`size` LJSpeech train-split sentences of MIN_CHARS..MAX_CHARS that no mini corpus uses."""
    texts = corpus_sentences()
    pool = _unused_train_sentences()
    return {u: texts[u] for u in sorted(random.Random(f"{seed}-dev").sample(pool, size))}


def tune_sentences(size: int = TUNE_SIZE, seed: int = 0) -> dict[str, str]:
    """`size` sentences of the same pool as `dev`, none of them in `dev` (settings are chosen
    here, designs were chosen on `dev`)."""
    texts = corpus_sentences()
    dev = set(dev_sentences())
    pool = [u for u in _unused_train_sentences() if u not in dev]
    return {u: texts[u] for u in sorted(random.Random(f"{seed}-tune").sample(pool, size))}


def unseen_sentences() -> dict[str, str]:
    """The project's own held-out sentences as UNSEEN-001 ... ids."""
    lines = [line.strip() for line in UNSEEN_FILE.read_text(encoding="utf-8").splitlines()]
    sentences = [line for line in lines if line and not line.startswith("#")]
    return {f"UNSEEN-{i:03d}": s for i, s in enumerate(sentences, start=1)}


SETS = {"dev": dev_sentences, "tune": tune_sentences, "unseen": unseen_sentences}


def build_heldout_set(name: str, out: str | Path, voice: str = DEFAULT_VOICE,
                      workers: int = 2) -> Path:
    """Speak set `name` into OUT/wavs, write OUT/metadata.csv and OUT/manifests; resumable."""
    sentences = SETS[name]()
    get_voice(voice).require()
    out = Path(out)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    speak_corpus_wavs(voice, sentences, out / "wavs", workers, desc=name)
    atomic_write_text(out / "metadata.csv",
                      "".join(f"{u}|{s}|{s}\n" for u, s in sentences.items()))
    ids = sorted(sentences)
    write_manifests(out, out / "manifests", {"train": ids, "val": [], "test": ids})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=sorted(SETS), required=True, help="which held-out set")
    parser.add_argument("--out", required=True, help="folder to write (LJSpeech layout)")
    parser.add_argument("--voice", default=DEFAULT_VOICE, help="voice (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="voice processes")
    args = parser.parse_args(argv)
    build_heldout_set(args.set, args.out, args.voice, args.workers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
