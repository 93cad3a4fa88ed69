"""The Hugging Face Hub as every `hf:OWNER/REPO/FILE[@REVISION]` spec reaches it (vocoders and
voices): parsed without touching the network, probed once, then downloaded or found in the cache.

The probe matters offline: without it a machine with no network waits through huggingface_hub's
retries (~25 s) before the cache is even consulted.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import huggingface_hub.constants
from huggingface_hub import hf_hub_download

from tts_ebm.errors import UserInputError

PREFIX = "hf:"
# seconds one probe of the Hub may take before it counts as unreachable
HUB_PROBE_TIMEOUT_S = 1.5


@dataclass(frozen=True)
class HubFile:
    """One file of a Hub repository, at a revision (None: the default branch)."""

    repo_id: str
    filename: str
    revision: str | None = None

    def __str__(self) -> str:
        return f"{PREFIX}{self.repo_id}/{self.filename}" + (f"@{self.revision}" if self.revision
                                                           else "")


def is_hub_spec(text: str) -> bool:
    return str(text).strip().startswith(PREFIX)


def parse_hub_spec(text: str, what: str, example: str) -> HubFile:
    """`hf:OWNER/REPO/FILE[@REVISION]` as a HubFile; UserInputError with `example` otherwise."""
    body, at, revision = str(text).strip().removeprefix(PREFIX).partition("@")
    parts = body.split("/")
    if len(parts) < 3 or not all(parts) or (at and not revision):
        raise UserInputError(f"bad {what} spec {text!r}: expected {PREFIX}OWNER/REPO/FILE"
                             f"[@REVISION], e.g. {example}")
    return HubFile("/".join(parts[:2]), "/".join(parts[2:]), revision or None)


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """One HEAD request to the Hub endpoint (HF_ENDPOINT); any HTTP answer counts as reachable."""
    request = urllib.request.Request(huggingface_hub.constants.ENDPOINT, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):  # refused, timed out, no route, DNS failure, bad endpoint URL
        return False


def download(file: HubFile, offline: bool, filename: str | None = None) -> Path:
    """The local path of `file` (or of `filename` in the same repository and revision), from the
    cache alone when `offline`; huggingface_hub's errors pass through for the caller to word."""
    return Path(hf_hub_download(file.repo_id, filename or file.filename, revision=file.revision,
                                local_files_only=offline))
