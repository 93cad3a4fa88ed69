"""Fetch and safely load HiFi-GAN checkpoints and their config JSON.

Checkpoints are read with `torch.load(weights_only=True)`: a pickle that carries anything but
tensors and plain containers could run code, so it is refused rather than trusted.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path, PurePosixPath

import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

from tts_ebm.errors import UserInputError
from vocoder.hifigan import HiFiGANConfig
from vocoder.spec import VocoderSpec


class VocoderUnavailableError(UserInputError):
    """The vocoder files could not be fetched (offline and not cached, missing on the Hub...)."""


def config_candidates(checkpoint_name: str) -> list[str]:
    """Config names tried beside a checkpoint: `<stem>.json`, then `config.json`."""
    path = PurePosixPath(checkpoint_name)
    return [str(path.with_suffix(".json")), str(path.with_name("config.json"))]


def _hub_file(spec: VocoderSpec, filename: str) -> Path:
    return Path(hf_hub_download(spec.repo_id, filename, revision=spec.revision))


def fetch_hf(spec: VocoderSpec) -> tuple[Path, Path]:
    """Download (or find in the Hub cache) the checkpoint and its config; honours HF_HUB_OFFLINE."""
    where = f"hf:{spec.repo_id}/{spec.filename}" + (f"@{spec.revision}" if spec.revision else "")
    try:
        checkpoint = _hub_file(spec, spec.filename)
    except LocalEntryNotFoundError as error:
        raise VocoderUnavailableError(
            f"vocoder {where} is not in the Hugging Face cache and the Hub cannot be reached "
            "(offline or HF_HUB_OFFLINE=1)"
        ) from error
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise VocoderUnavailableError(f"cannot fetch vocoder {where}: {error}") from error
    for name in config_candidates(spec.filename):
        try:
            return checkpoint, _hub_file(spec, name)
        except (EntryNotFoundError, HfHubHTTPError, OSError):
            continue
    raise VocoderUnavailableError(
        f"no config JSON for vocoder {where}: tried {config_candidates(spec.filename)} in "
        f"{spec.repo_id}"
    )


def local_files(checkpoint: Path, config: str | Path | None = None) -> tuple[Path, Path]:
    """Resolve a local checkpoint and its config (explicit, `<stem>.json` or `config.json`)."""
    if not checkpoint.is_file():
        raise FileNotFoundError(f"vocoder checkpoint not found: {checkpoint}")
    if config is not None:
        if not Path(config).is_file():
            raise FileNotFoundError(f"vocoder config not found: {config}")
        return checkpoint, Path(config)
    for name in config_candidates(checkpoint.name):
        candidate = checkpoint.parent / name
        if candidate.is_file():
            return checkpoint, candidate
    raise FileNotFoundError(
        f"no config JSON beside vocoder checkpoint {checkpoint}: tried "
        f"{config_candidates(checkpoint.name)}; pass config= explicitly"
    )


def read_config(path: Path) -> HiFiGANConfig:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserInputError(f"cannot read vocoder config {path}: {error}") from error
    if not isinstance(data, dict):
        raise UserInputError(f"vocoder config {path} is not a JSON object")
    return HiFiGANConfig.from_dict(data)


def read_generator_state(path: Path) -> dict[str, torch.Tensor]:
    """The `generator` state dict of an original-format checkpoint, loaded weights-only."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise UserInputError(
            f"refusing to load vocoder checkpoint {path}: it contains Python objects other than "
            "tensors, and loading those could run arbitrary code (torch.load weights_only=True "
            f"rejected it: {str(error).splitlines()[0]}). Re-save it as "
            "{'generator': generator.state_dict()}."
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise UserInputError(
            f"cannot read vocoder checkpoint {path} (truncated or not a torch file?): {error}"
        ) from error
    if not isinstance(checkpoint, dict) or "generator" not in checkpoint:
        keys = sorted(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise UserInputError(
            f"vocoder checkpoint {path} is not in the HiFi-GAN format: expected a dict with key "
            f"'generator', got {keys}"
        )
    state = checkpoint["generator"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserInputError(f"vocoder checkpoint {path}: 'generator' is not a state dict of tensors")
    return state
