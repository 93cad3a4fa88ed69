"""The vocoder registry: what a vocoder file is, and the vocoders that need no file.

A checkpoint's config JSON names its kind in a `vocoder` key; HiFi-GAN's original and fairseq
configs have none, so a config without it is "hifigan". Adding a kind (Vocos, BigVGAN, ...) is
one module with a `from_files(checkpoint, config_path, config, device)` and one line in KINDS; a vocoder
without files is one line in NAMED. Every vocoder is callable on a raw log-mel (B, 80, T) and
returns a waveform (B, T * hop_length), with `sample_rate` and `hop_length` attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tts_ebm._registry import lookup
from vocoder import hifigan
from vocoder.griffin_lim import GriffinLimVocoder
from vocoder.loading import read_config_json
from vocoder.spec import PACKAGED

KINDS: dict[str, Callable[[Path, Path, dict[str, Any], torch.device], Any]] = {
    "hifigan": hifigan.from_files,
}
NAMED: dict[str, Callable[[torch.device], Any]] = {
    "griffin-lim": GriffinLimVocoder,
}
DEFAULT_KIND = "hifigan"


def from_files(checkpoint: Path, config_path: Path, device: torch.device) -> Any:
    """The vocoder of `checkpoint`, built by the kind its config JSON names."""
    config = read_config_json(config_path)
    build = lookup(KINDS, f"vocoder kind (the `vocoder` key of {config_path})",
                   str(config.get("vocoder", DEFAULT_KIND)))
    return build(checkpoint, config_path, config, device)


def names() -> list[str]:
    """The vocoders named without a path or Hub spec: the packaged files, then NAMED."""
    return [*PACKAGED, *NAMED]
