"""Shared fixtures: small synthetic audio files, no network for any test, a Hub client that
only sees 127.0.0.1 or its cache."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import soundfile as sf

LOOPBACK_HOSTS = ("127.0.0.1", b"127.0.0.1", "localhost", b"localhost", "::1", b"::1")
OFFLINE_ENDPOINT = "http://127.0.0.1:9"  # never contacted: HF_HUB_OFFLINE is set with it


def write_tone(
    path: Path,
    seconds: float = 0.5,
    sample_rate: int = 22050,
    freq: float = 220.0,
    amplitude: float = 0.5,
    channels: int = 1,
) -> Path:
    """A sine tone as 16-bit PCM wav; amplitude 0 gives a silent file."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sample_rate, subtype="PCM_16")
    return path


@pytest.fixture
def make_wav(tmp_path: Path) -> Callable[..., Path]:
    """make_wav(name, **write_tone options) -> path of a tone wav under tmp_path."""
    return lambda name, **options: write_tone(tmp_path / name, **options)


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Name resolution answers only for the loopback host: no test can reach the network."""
    resolve = socket.getaddrinfo

    def loopback(host, *args, **kwargs):
        if host not in LOOPBACK_HOSTS:
            raise socket.gaierror(f"tests may not use the network (asked for {host!r})")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback)


def point_hub_client_at(monkeypatch: pytest.MonkeyPatch, endpoint: str, cache: Path) -> None:
    """The Hugging Face client online against `endpoint` (no proxies) with an empty cache.

    The client reads its constants at import, download URLs included, so they are patched too.
    """
    for proxy in ("http_proxy", "https_proxy", "all_proxy"):  # nothing may relay a request
        monkeypatch.delenv(proxy, raising=False)
        monkeypatch.delenv(proxy.upper(), raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(huggingface_hub.constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))


@pytest.fixture
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hub cache with HF_HUB_OFFLINE=1 (constants are read at import, so patch both)."""
    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", OFFLINE_ENDPOINT)
    return cache


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `cuda` skip, each saying why, where torch sees no CUDA device."""
    marked = [item for item in items if item.get_closest_marker("cuda")]
    if not marked:
        return
    import torch  # only when a cuda test was collected: conftest stays cheap to import

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch sees none)")
    for item in marked:
        item.add_marker(skip)


@pytest.fixture()
def spy_on_voice(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], list[str]]:
    """`spy_on_voice(name)`: the names of the wavs that festival voice is asked to speak from
    then on (it still speaks them), to check what a resumed corpus run redoes."""
    import dataclasses

    from data_prep.voices import VOICES

    def spy(name: str) -> list[str]:
        spoken: list[str] = []
        voice = VOICES[name]

        def speak_many(jobs, workers):
            spoken.extend(path.name for _, path in jobs)
            return voice.speak_many(jobs, workers)

        monkeypatch.setitem(VOICES, name, dataclasses.replace(voice, speak_many=speak_many))
        return spoken

    return spy


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Callable[..., Path]:
    """tiny_checkpoint(path, texts=..., model=..., sampler=..., lr=...) -> path: a `tiny` model
    (model: options over the preset) trained two steps of delta on random mels of `texts`, so
    that no layer is left at its zero init, saved as a tts-ebm checkpoint at `path`."""
    import torch

    from tts_ebm import criteria
    from tts_ebm.model import AcousticModel, ModelConfig
    from tts_ebm.text import SymbolTable, text_to_ids
    from tts_ebm.training.checkpoint import make_payload
    from tts_ebm.training.config import ExperimentConfig

    def make(path: Path, texts: tuple[str, ...] = ("Hello there.",), model: dict | None = None,
             sampler: dict | None = None, lr: float = 1e-3) -> Path:
        torch.manual_seed(0)
        config = ExperimentConfig.from_dict({
            "model": {"preset": "tiny", **(model or {})}, "criterion": {"name": "delta"},
            "sampler": sampler or {"name": "gd", "options": {"steps": 2, "temperature": 0.5}},
        })
        table = SymbolTable.default()
        acoustic = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(table))
        ids = [text_to_ids(text, table) for text in texts]
        tokens = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long)
        for i, row in enumerate(ids):
            tokens[i, : len(row)] = torch.tensor(row)
        token_lengths = torch.tensor([len(row) for row in ids])
        mel_lengths = token_lengths * 3
        frames = int(mel_lengths.max())
        mels = torch.randn(len(ids), 80, frames)
        pitched = config.model.get("variance_level", "none") != "none"
        log_f0 = 5.0 + 0.1 * torch.randn(len(ids), frames) if pitched else None
        optimizer = torch.optim.Adam(acoustic.parameters(), lr=lr)
        for _ in range(2):
            loss, _ = acoustic.training_step_losses(tokens, token_lengths, mels, mel_lengths,
                                                    criteria.build("delta"), log_f0=log_f0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        payload = make_payload(config, table, [-5.0] * 80, [2.0] * 80, acoustic.state_dict())
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"tts_ebm": payload, "state_dict": {}}, path)
        return path

    return make
