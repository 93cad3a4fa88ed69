"""Tab-separated manifests and the standard LJSpeech split, shared by both corpora.

Files are written whole to a temporary name and renamed, so a killed run never leaves half a
manifest that a later stage would trust. Fields never hold tabs or newlines (checked on write),
so plain splitting is exact and no quoting rules are involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tts_ebm.errors import UserInputError
from tts_ebm.io import atomic_write_text

SPLITS = ("train", "val", "test")
MANIFEST_HEADER = ("id", "audio", "text")


@dataclass(frozen=True)
class ManifestEntry:
    id: str
    audio: str
    text: str


def write_tsv(path: str | Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Atomically write a header line and rows; a field holding a tab or newline is a bug."""
    lines = ["\t".join(header)]
    for row in rows:
        fields = [str(value) for value in row]
        if len(fields) != len(header) or any(("\t" in f or "\n" in f) for f in fields):
            raise ValueError(f"bad row for {path}: {row!r}")
        lines.append("\t".join(fields))
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_tsv(path: str | Path, header: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a tab-separated file as dicts; the first line must equal `header`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != header:
        raise UserInputError(f"{path}: expected header {' '.join(header)!r}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            raise UserInputError(
                f"{path}:{number}: expected {len(header)} fields, got {len(fields)}"
            )
        rows.append(dict(zip(header, fields)))
    return rows


def write_manifest(path: str | Path, entries: list[ManifestEntry]) -> None:
    write_tsv(path, MANIFEST_HEADER, [(e.id, e.audio, " ".join(e.text.split())) for e in entries])


def read_manifest(path: str | Path) -> list[ManifestEntry]:
    return [ManifestEntry(**row) for row in read_tsv(path, MANIFEST_HEADER)]


def standard_split() -> dict[str, list[str]]:
    """The Tacotron 2 / Glow-TTS / VITS LJSpeech split: 12 500 train, 100 val, 500 test ids."""
    folder = resources.files("data_prep") / "resources" / "ljspeech_split"
    return {split: (folder / f"{split}.txt").read_text().split() for split in SPLITS}


def corpus_sentences() -> dict[str, str]:
    """id -> normalised text for all 13 100 LJSpeech clips (bundled, public domain)."""
    text = (resources.files("data_prep") / "resources" / "ljspeech_text.psv").read_text("utf-8")
    return dict(line.split("|", 1) for line in text.splitlines() if line)
