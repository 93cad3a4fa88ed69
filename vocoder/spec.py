"""Vocoder spec strings: `hf:OWNER/REPO/FILE[@REVISION]`, a local path, or `griffin-lim`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tts_ebm.errors import UserInputError

GRIFFIN_LIM = "griffin-lim"


@dataclass(frozen=True)
class VocoderSpec:
    """A parsed spec; `repo_id`/`filename`/`revision` only for `hf`, `path` only for `path`."""

    kind: Literal["hf", "path", "griffin-lim"]
    repo_id: str = ""
    filename: str = ""
    revision: str | None = None
    path: Path | None = None


def parse_spec(spec: str) -> VocoderSpec:
    """Parse without touching disk or network (so a typo fails before any download)."""
    text = str(spec).strip()
    if not text:
        raise UserInputError("empty vocoder spec; use hf:OWNER/REPO/FILE[@REVISION], a path, or griffin-lim")
    if text.lower() == GRIFFIN_LIM:
        return VocoderSpec(kind="griffin-lim")
    if text.startswith("hf:"):
        body, _, revision = text[3:].partition("@")
        parts = body.split("/")
        if len(parts) < 3 or not all(parts) or (_ and not revision):
            raise UserInputError(
                f"bad vocoder spec {text!r}: expected hf:OWNER/REPO/FILE[@REVISION], "
                "e.g. hf:facebook/fastspeech2-en-ljspeech/hifigan.bin"
            )
        return VocoderSpec(
            kind="hf", repo_id="/".join(parts[:2]), filename="/".join(parts[2:]),
            revision=revision or None,
        )
    return VocoderSpec(kind="path", path=Path(text).expanduser())
