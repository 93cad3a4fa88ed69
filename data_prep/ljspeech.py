"""LJSpeech-1.1: download (resumable, SHA-256 checked), extract, parse metadata, write manifests."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from data_prep.manifests import SPLITS, ManifestEntry, standard_split, write_manifest
from tts_ebm.errors import UserInputError

DEFAULT_URL = "https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2"
DEFAULT_SHA256 = "be1a30453f28eb8dd26af4101ae40cbf2c50413b1bb21936cbcdc6fae3de8aa5"
ARCHIVE_NAME = "LJSpeech-1.1.tar.bz2"
CORPUS_NAME = "LJSpeech-1.1"
_CHUNK = 1 << 20


def sha256sum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, part: Path) -> None:
    """Append the rest of `url` to `part`, asking for a byte range when part already has data."""
    done = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={done}-"} if done else {})
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as error:
        if error.code == 416:  # range past the end: the partial file is already complete
            return
        raise UserInputError(
            f"download of {url} failed: HTTP {error.code} {error.reason}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        raise UserInputError(f"download of {url} failed: {error}") from error
    with response:
        resumed = done and getattr(response, "status", None) == 206
        if done and not resumed:  # server ignored the range (or file://): start over
            done = 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length else None
        with (
            open(part, "ab" if resumed else "wb") as f,
            tqdm(total=total, initial=done, unit="B", unit_scale=True, desc=Path(url).name) as bar,
        ):
            for block in iter(lambda: response.read(_CHUNK), b""):
                f.write(block)
                bar.update(len(block))


def download(root: str | Path, url: str = DEFAULT_URL, sha256: str | None = DEFAULT_SHA256) -> Path:
    """Download `url` into root (resuming `<name>.part`), verify SHA-256, return the file path.

    A verified file already in place is not fetched again. On a checksum mismatch the partial
    file is deleted (resuming a corrupt file can never succeed) and UserInputError is raised.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / Path(urllib.parse.urlparse(url).path).name
    if target.exists():
        return target
    part = target.with_name(target.name + ".part")
    _fetch(url, part)
    if sha256:
        actual = sha256sum(part)
        if actual != sha256.lower():
            part.unlink()
            raise UserInputError(
                f"checksum mismatch for {url}: expected sha256 {sha256}, got {actual}; "
                f"the partial download was deleted, run again to download from scratch"
            )
    os.replace(part, target)
    return target


def extract(archive: str | Path, root: str | Path) -> Path:
    """Unpack the LJSpeech archive into root/LJSpeech-1.1 (skipped when already there)."""
    root = Path(root)
    corpus = root / CORPUS_NAME
    if (corpus / "metadata.csv").is_file():
        return corpus
    staging = root / f".{CORPUS_NAME}.extracting"
    shutil.rmtree(staging, ignore_errors=True)
    print(f"extracting {archive} ...", file=sys.stderr)
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(staging, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise UserInputError(f"cannot extract {archive}: {error}") from error
    unpacked = staging / CORPUS_NAME
    if not (unpacked / "metadata.csv").is_file():
        raise UserInputError(f"{archive} does not contain {CORPUS_NAME}/metadata.csv")
    os.replace(unpacked, corpus)
    shutil.rmtree(staging, ignore_errors=True)
    return corpus


def parse_metadata(path: str | Path) -> dict[str, str]:
    """id -> normalised text (third column) of an LJSpeech-style metadata.csv.

    Quoting is disabled: LJSpeech texts contain unbalanced double quotes that csv would
    otherwise treat as field delimiters and silently merge lines.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metadata file not found: {path}")
    texts: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for number, row in enumerate(csv.reader(f, delimiter="|", quoting=csv.QUOTE_NONE), 1):
            if len(row) != 3:
                raise UserInputError(f"{path}:{number}: expected 'id|text|normalised text'")
            texts[row[0]] = " ".join(row[2].split())
    return texts


@dataclass
class ManifestReport:
    counts: dict[str, int]
    missing: dict[str, list[str]]  # split -> ids in the split list without metadata or wav

    def __str__(self) -> str:
        parts = [f"{split} {n}" for split, n in self.counts.items()]
        missing = sum(len(ids) for ids in self.missing.values())
        return (
            "manifests: "
            + ", ".join(parts)
            + (f" ({missing} listed ids missing)" if missing else "")
        )


def write_manifests(
    root: str | Path, manifest_dir: str | Path, split_ids: dict[str, list[str]] | None = None
) -> ManifestReport:
    """Write {train,val,test}.tsv for a corpus in LJSpeech layout (default: the standard split)."""
    root = Path(root).resolve()
    texts = parse_metadata(root / "metadata.csv")
    split_ids = standard_split() if split_ids is None else split_ids
    counts: dict[str, int] = {}
    missing: dict[str, list[str]] = {}
    for split in SPLITS:
        entries, absent = [], []
        for utt in split_ids.get(split, []):
            wav = root / "wavs" / f"{utt}.wav"
            if utt in texts and wav.is_file():
                entries.append(ManifestEntry(utt, str(wav), texts[utt]))
            else:
                absent.append(utt)
        write_manifest(Path(manifest_dir) / f"{split}.tsv", entries)
        counts[split], missing[split] = len(entries), absent
        if absent:
            shown = ", ".join(absent[:5]) + (" ..." if len(absent) > 5 else "")
            print(
                f"warning: {len(absent)} {split} ids missing from {root}: {shown}", file=sys.stderr
            )
    return ManifestReport(counts, missing)


def find_corpus(root: str | Path) -> Path | None:
    """The folder holding metadata.csv: root itself or root/LJSpeech-1.1."""
    for candidate in (Path(root), Path(root) / CORPUS_NAME):
        if (candidate / "metadata.csv").is_file():
            return candidate
    return None


def prepare(
    root: str | Path,
    manifest_dir: str | Path,
    *,
    download_missing: bool = False,
    url: str = DEFAULT_URL,
    sha256: str | None = DEFAULT_SHA256,
) -> ManifestReport:
    """Locate (or download and extract) LJSpeech under root and write its manifests."""
    root = Path(root)
    corpus = find_corpus(root)
    if corpus is None:
        archive = root / ARCHIVE_NAME
        if not archive.exists():
            if not download_missing:
                raise UserInputError(
                    f"LJSpeech not found under {root} (no metadata.csv, no {ARCHIVE_NAME}); "
                    f"rerun with --download to fetch it (~2.6 GB) from {url}, "
                    f"or unpack it there yourself"
                )
            archive = download(root, url, sha256)
        corpus = extract(archive, root)
    return write_manifests(corpus, manifest_dir)
