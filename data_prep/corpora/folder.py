"""Corpus plug-in `folder`: the user's own recordings in LJSpeech layout.

DATA_DIR/metadata.csv holds `id|text` or `id|text|normalised text` lines (no header; the third
column is used when present and not empty) and DATA_DIR/wavs/<id>.wav the recordings, at any
sample rate, mono or stereo (features are computed at the model's rate, channels averaged).
The train/val/test split is drawn once with a seed and kept in MANIFEST_DIR/split.json, so that
adding recordings or rerunning never moves an utterance between splits.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from data_prep.corpora import DEFAULT_LANGUAGE, write_corpus_info
from data_prep.manifests import SPLITS, ManifestEntry, write_manifest
from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text

DESCRIPTION = "your own recordings: a folder with metadata.csv (id|text[|normalised]) and wavs/"
SPLIT_FILE = "split.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--language",
        default=DEFAULT_LANGUAGE,
        help="espeak-ng language code of the recordings, e.g. en-us, en-gb, ca, de, es, fr-fr "
        f"(`espeak-ng --voices` lists them; default: {DEFAULT_LANGUAGE})",
    )
    parser.add_argument(
        "--n-train", type=int, default=0, help="train utterances (default 0: all the rest)"
    )
    parser.add_argument("--n-val", type=int, default=10, help="validation utterances (default: 10)")
    parser.add_argument("--n-test", type=int, default=20, help="test utterances (default: 20)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default: 0)")


def corpus_dir(data_dir: Path) -> Path:
    return data_dir


def manifest_dir(corpus: Path) -> Path:
    return corpus / "manifests"


def read_metadata(path: Path) -> dict[str, str]:
    """id -> text of `id|text` or `id|text|normalised` lines; malformed lines are errors."""
    if not path.is_file():
        raise UserInputError(f"{path} not found: a folder corpus needs metadata.csv (id|text)")
    texts: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) not in (2, 3) or not fields[0].strip():
            raise UserInputError(f"{path}:{number}: expected 'id|text' or 'id|text|normalised'")
        utt = fields[0].strip()
        if utt in texts:
            raise UserInputError(f"{path}:{number}: id {utt!r} appears twice")
        text = fields[2] if len(fields) == 3 and fields[2].strip() else fields[1]
        texts[utt] = " ".join(text.split())
    if not texts:
        raise UserInputError(f"{path} lists no utterances")
    return texts


def draw_split(ids: list[str], sizes: dict[str, int], seed: int) -> dict[str, list[str]]:
    """Seeded split: val and test drawn first, train the rest (or n_train of it when > 0)."""
    need = sizes["val"] + sizes["test"] + max(sizes["train"], 1)
    if need > len(ids):
        raise UserInputError(
            f"the split needs {need} utterances (val {sizes['val']}, test {sizes['test']}, "
            f"train {max(sizes['train'], 1)}) but metadata.csv lists {len(ids)}; lower "
            "--n-val/--n-test"
        )
    shuffled = sorted(ids)
    random.Random(seed).shuffle(shuffled)
    val = shuffled[: sizes["val"]]
    test = shuffled[sizes["val"] : sizes["val"] + sizes["test"]]
    rest = shuffled[sizes["val"] + sizes["test"] :]
    train = rest[: sizes["train"]] if sizes["train"] > 0 else rest
    return {"train": sorted(train), "val": sorted(val), "test": sorted(test)}


def kept_split(path: Path, ids: list[str], sizes: dict[str, int], seed: int) -> dict[str, list[str]]:
    """The split in `path` when there is one (it must match the options), else a new one saved there."""
    requested = {"seed": seed, "sizes": sizes}
    if path.is_file():
        stored = json.loads(path.read_text())
        if {"seed": stored["seed"], "sizes": stored["sizes"]} != requested:
            raise UserInputError(
                f"{path} holds a split drawn with {stored['seed']=}, {stored['sizes']=}, not "
                f"seed {seed}, sizes {sizes}; keep the old options or delete {path} to draw anew"
            )
        split = {name: stored[name] for name in SPLITS}
        unknown = sorted(set(ids) - {u for name in SPLITS for u in split[name]})
        if unknown:
            print(
                f"warning: {len(unknown)} ids of metadata.csv are in no split of {path} (added "
                f"after it was drawn; delete it to draw anew): {', '.join(unknown[:5])}",
                file=sys.stderr,
            )
        return split
    split = draw_split(ids, sizes, seed)
    atomic_write_text(path, json.dumps({**requested, **split}, indent=1) + "\n")
    return split


def prepare(args: argparse.Namespace) -> str:
    root = Path(args.data_dir).resolve()
    texts = read_metadata(root / "metadata.csv")
    sizes = {"train": args.n_train, "val": args.n_val, "test": args.n_test}
    out = Path(args.manifest_dir)
    out.mkdir(parents=True, exist_ok=True)
    split = kept_split(out / SPLIT_FILE, list(texts), sizes, args.seed)
    gone = sorted(u for name in SPLITS for u in split[name] if u not in texts)
    if gone:
        raise UserInputError(
            f"ids of the kept split {out / SPLIT_FILE} are no longer in metadata.csv: "
            f"{', '.join(gone[:10])}; restore them or delete {out / SPLIT_FILE}"
        )
    for name in SPLITS:
        entries = [ManifestEntry(u, str(root / "wavs" / f"{u}.wav"), texts[u]) for u in split[name]]
        write_manifest(out / f"{name}.tsv", entries)
    write_corpus_info(out, args.language)
    counts = ", ".join(f"{name} {len(split[name])}" for name in SPLITS)
    return f"manifests: {counts} (language {args.language}) -> {out}"
