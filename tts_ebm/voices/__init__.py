"""Voices: trained checkpoints named by a shipped voice's name, a path, or a Hub spec.

    resolve(None)                          the default voice (DEFAULT_VOICE), when it ships
    resolve("NAME")                        a voice shipped in this package (tts_ebm/voices/NAME/)
    resolve("path/to/last.ckpt")           a checkpoint on disk
    resolve("hf:OWNER/REPO/FILE[@REV]")    a checkpoint on the Hugging Face Hub, downloaded once
                                           and cached (the cache alone when offline)

A shipped voice is a folder here holding `voice.ckpt` (EMA weights, the symbols, language, mel
statistics and sampler settings, like any tts-ebm checkpoint) and `MODEL_CARD.md`, whose first
heading is its one-line description. `tts-ebm voices` lists the shipped and the cached ones;
`tts-ebm package-voice` (tts_ebm/voices/packaging.py) makes one from a training checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import huggingface_hub.constants
from huggingface_hub import scan_cache_dir
from huggingface_hub.errors import (
    CacheNotFound,
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
)

from tts_ebm import hub
from tts_ebm.errors import UserInputError

SHIPPED_DIR = Path(__file__).parent
CHECKPOINT_NAME = "voice.ckpt"
MODEL_CARD = "MODEL_CARD.md"
CHECKPOINT_SUFFIX = ".ckpt"
EXAMPLE = "hf:OWNER/REPO/voice.ckpt"
DEFAULT_VOICE = "slt"  # what synthesis uses when no checkpoint is given


@dataclass(frozen=True)
class Voice:
    """A voice `tts-ebm voices` lists: what to pass as --checkpoint, where it is, its headline."""

    spec: str
    path: Path
    headline: str


def shipped() -> dict[str, Path]:
    """Shipped voice name -> its checkpoint, sorted by name."""
    return {folder.name: folder / CHECKPOINT_NAME for folder in sorted(SHIPPED_DIR.iterdir())
            if (folder / CHECKPOINT_NAME).is_file()}


def resolve(spec: str | Path | None) -> Path:
    """The checkpoint file a --checkpoint value names (None: the default voice);
    UserInputError says what was tried."""
    if spec is None:
        return _default()
    text = str(spec).strip()
    if hub.is_hub_spec(text):
        return _fetch(hub.parse_hub_spec(text, "voice", EXAMPLE))
    path = Path(text).expanduser()
    if path.is_file():
        return path
    voices = shipped()
    if text in voices:
        return voices[text]
    known = ", ".join(voices) or "none in this install"
    raise UserInputError(f"checkpoint not found: {text!r} is neither a file nor a shipped voice "
                         f"({known}); give a path, a voice name or {EXAMPLE}")


def _default() -> Path:
    voices = shipped()
    if DEFAULT_VOICE not in voices:
        raise UserInputError(f"no checkpoint given, and the default voice {DEFAULT_VOICE!r} "
                             f"does not ship with this install; give a checkpoint path, a voice "
                             f"name or {EXAMPLE}")
    return voices[DEFAULT_VOICE]


def _fetch(file: hub.HubFile) -> Path:
    offline = huggingface_hub.constants.HF_HUB_OFFLINE or not hub.hub_reachable()
    try:
        return hub.download(file, offline)
    except LocalEntryNotFoundError as error:
        raise UserInputError(f"voice {file} is not in the Hugging Face cache and the Hub "
                             f"({huggingface_hub.constants.ENDPOINT}) cannot be reached") from error
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise UserInputError(f"cannot fetch voice {file}: {error}") from error


def listed() -> list[Voice]:
    """The shipped voices, then every checkpoint in the Hugging Face cache."""
    voices = [Voice(name, path, headline(path.with_name(MODEL_CARD)))
              for name, path in shipped().items()]
    return voices + _cached()


def _cached() -> list[Voice]:
    try:
        cache = scan_cache_dir(huggingface_hub.constants.HF_HUB_CACHE)  # read at call time
    except CacheNotFound:
        return []
    voices = []
    for repo in sorted(cache.repos, key=lambda r: r.repo_id):
        for revision in repo.revisions:
            for file in sorted(revision.files, key=lambda f: f.file_name):
                if file.file_name.endswith(CHECKPOINT_SUFFIX):
                    name = str(file.file_path.relative_to(revision.snapshot_path))
                    card = revision.snapshot_path / MODEL_CARD
                    voices.append(Voice(str(hub.HubFile(repo.repo_id, name, revision.commit_hash)),
                                        file.file_path, headline(card)))
    return voices


def headline(card: Path) -> str:
    """The first heading (or first line) of a model card; "" when there is none."""
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8").splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()
    return ""
