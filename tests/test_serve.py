"""`tts-ebm serve`: the page's API with Flask's test client, and the page itself in headless
Chromium against a real server on 127.0.0.1 (tiny checkpoint, Griffin-Lim)."""

from __future__ import annotations

import io
import itertools
import threading
import time
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import soundfile as sf
import torch
from headless_chromium import Browser, chromium_path
from werkzeug.serving import make_server

from tts_ebm import criteria
from tts_ebm.cli import build_parser
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.serve.app import Demo, PageLimits, create_app
from tts_ebm.synthesis import Synthesizer
from tts_ebm.text import SymbolTable, text_to_ids
from tts_ebm.training.checkpoint import make_payload
from tts_ebm.training.config import ExperimentConfig

TEXT = "The birch canoe slid on the smooth planks."


@pytest.fixture(autouse=True)
def offline_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))


def tiny_synthesizer(folder: Path, field: str = "energy") -> Synthesizer:
    """A tiny model (delta on an energy, fm on a velocity) trained for a few steps on random
    mels, loaded through its checkpoint."""
    torch.manual_seed(0)
    config = ExperimentConfig.from_dict({
        "model": {"preset": "tiny", "field": field},
        "criterion": {"name": "delta" if field == "energy" else "fm"},
        "sampler": {"name": "gd" if field == "energy" else "euler",
                    "options": {"steps": 4, "temperature": 0.5}},
    })
    table = SymbolTable.default()
    model = AcousticModel(ModelConfig.from_dict(config.model), n_symbols=len(table))
    ids = [text_to_ids(TEXT, table)]
    tokens = torch.tensor(ids)
    token_lengths = torch.tensor([len(ids[0])])
    mel_lengths = token_lengths * 3
    mels = torch.randn(1, 80, int(mel_lengths.max()))
    criterion = criteria.build(config.criterion.name)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        loss, _ = model.training_step_losses(tokens, token_lengths, mels, mel_lengths, criterion)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    payload = make_payload(config, table, [-5.0] * 80, [2.0] * 80, model.state_dict())
    path = folder / "last.ckpt"
    torch.save({"tts_ebm": payload, "state_dict": {}}, path)
    return Synthesizer(path, vocoder="griffin-lim", device="cpu")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    return tiny_synthesizer(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def demo(synth: Synthesizer) -> Demo:
    return Demo(synth, "tiny.ckpt", ["griffin-lim"])


@pytest.fixture(scope="module")
def client(demo: Demo):
    return create_app(demo).test_client()


def wait(client, job: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").get_json()
        if state["state"] in ("done", "error"):
            return state
        time.sleep(0.05)
    raise TimeoutError(job)


def test_synthesis_through_the_api(client) -> None:
    """A job gives K + 1 falling energies, a WAV of the stated length and every image."""
    answer = client.post("/api/synthesize", json={"text": TEXT, "steps": "3", "seed": "1"})
    assert answer.status_code == 202
    state = wait(client, answer.get_json()["job"])
    assert state["state"] == "done", state
    result = state["result"]
    assert result["steps"] == 3 and len(result["energies"]) == 4
    assert all(b <= a for a, b in zip(result["energies"], result["energies"][1:]))
    wav, rate = sf.read(io.BytesIO(client.get(result["audio"]).data))
    assert rate == 22050 and len(wav) / rate == pytest.approx(result["audio_seconds"])
    assert result["rtf"] == pytest.approx(result["synthesis_seconds"] / result["audio_seconds"])
    for url in [result["mu"], result["final"], result["step"] + "0.png",
                result["delta"] + "3.png"]:
        image = client.get(url)
        assert image.status_code == 200 and image.data[:4] == b"\x89PNG", url
    assert client.get(result["step"] + "4.png").status_code == 404


@pytest.mark.parametrize(("request_body", "message"), [
    ({"text": "   "}, "text is empty"),
    ({"text": "... !!! ..."}, "nothing speakable"),
    ({"text": TEXT, "steps": "100000"}, "K = 100000 steps is more than this page runs"),
    ({"text": TEXT, "steps": "-1"}, "K (steps) must be >= 0"),
    ({"text": TEXT, "steps": "two"}, "K (steps) must be an integer"),
    ({"text": TEXT, "temperature": "50"}, "τ = 50 is beyond the page's limit"),
    ({"text": TEXT, "temperature": "nan"}, "temperature τ must be >= 0"),
    ({"text": TEXT, "step_size": "-2"}, "step size must be a positive number or 1/K"),
    ({"text": TEXT, "length_scale": "0"}, "length scale must be > 0"),
    ({"text": TEXT, "sampler": "magic"}, "unknown sampler 'magic'"),
    ({"text": TEXT, "vocoder": "hifigan-lj"}, "unknown vocoder 'hifigan-lj'"),
    ({"text": TEXT, "volume": "11"}, "unknown synthesis control(s) ['volume']"),
    ({"text": "a" * 501}, "text is 501 characters long"),
    ([1, 2], "the request must be a JSON object"),
])
def test_bad_input_gets_a_message(client, request_body, message: str) -> None:
    answer = client.post("/api/synthesize", json=request_body)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]


def test_a_full_queue_refuses_politely(synth: Synthesizer) -> None:
    """max_waiting jobs wait behind a running one; the next is refused with 503 and a message."""
    busy = Demo(synth, "tiny.ckpt", ["griffin-lim"], max_waiting=1)
    release = threading.Event()
    busy.jobs.submit(release.wait)  # occupies the worker
    time.sleep(0.1)
    client = create_app(busy).test_client()
    try:
        assert client.post("/api/synthesize", json={"text": TEXT}).status_code == 202
        answer = client.post("/api/synthesize", json={"text": TEXT})
        assert answer.status_code == 503 and "busy" in answer.get_json()["error"]
    finally:
        release.set()


def test_a_velocity_model_has_steps_but_no_energy(tmp_path: Path) -> None:
    """fm checkpoints: the energies are null in the JSON (not NaN, which is not JSON), the
    per-step mels are there."""
    client = create_app(Demo(tiny_synthesizer(tmp_path, "velocity"), "fm.ckpt",
                             ["griffin-lim"])).test_client()
    answer = client.post("/api/synthesize", json={"text": TEXT, "steps": 2})
    state = wait(client, answer.get_json()["job"])
    assert state["state"] == "done", state
    assert state["result"]["energies"] == [None, None, None]
    assert client.get(state["result"]["step"] + "2.png").status_code == 200


def test_page_limits_and_defaults(demo: Demo) -> None:
    settings = demo.settings()
    assert settings["defaults"]["steps"] == 4 and settings["criterion"] == "delta"
    assert settings["limits"]["max_steps"] == PageLimits().max_steps


def test_serves_loopback_unless_told() -> None:
    args = build_parser("serve").parse_args(["serve", "--checkpoint", "x.ckpt"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)


@pytest.fixture
def server(demo: Demo):
    """The app on a real socket, 127.0.0.1 and a free port."""
    httpd = make_server("127.0.0.1", 0, create_app(demo), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    thread.join()
    httpd.server_close()


RESULT_STATE = """(() => {
  const a = document.getElementById('audio');
  return {message: document.getElementById('message').textContent,
          hidden: document.getElementById('result').hidden,
          readyState: a.readyState, duration: a.duration, error: a.error && a.error.code,
          energies: [...document.querySelectorAll('#energy .energy-point')]
                     .map(c => Number(c.dataset.energy)),
          images: [...document.images].map(i => [i.id, i.naturalWidth])};
})()"""


def poll(browser: Browser, expression: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = browser.evaluate(expression)
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(expression)


@pytest.mark.skipif(chromium_path() is None,
                    reason="needs a headless browser: apt-get install chromium "
                           "(scripts/install_system_deps.sh installs it)")
def test_page_in_headless_chromium(server: str, tmp_path: Path) -> None:
    """Load the page, synthesise a sentence at the defaults: a playable WAV, K + 1 energies that
    do not rise, every mel image loaded; then a bad K shows its message."""
    with Browser() as browser:
        browser.open(server)
        poll(browser, "document.getElementById('sampler').options.length > 0")
        browser.evaluate(f"document.getElementById('text').value = {TEXT!r}")
        browser.evaluate("document.getElementById('go').click()")
        poll(browser, "!document.getElementById('result').hidden")
        poll(browser, "document.getElementById('audio').readyState === 4 && "
                      "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        state = browser.evaluate(RESULT_STATE)
        browser.screenshot(tmp_path / "page.png")
        errors = browser.console_errors()  # the bad input below logs its 400 answer
        browser.evaluate("document.querySelector('[name=steps]').value = 100000")
        browser.evaluate("document.getElementById('go').click()")
        message = poll(browser, "document.getElementById('message').className === 'error' && "
                                "document.getElementById('message').textContent")
    assert state["message"] == "done" and state["error"] is None
    assert state["duration"] > 0.2
    energies = state["energies"]
    assert len(energies) == 4 + 1  # K = 4, the checkpoint's default
    assert all(np.isfinite(energies)) and all(b <= a for a, b in itertools.pairwise(energies))
    assert {name for name, width in state["images"] if width > 0} == {
        "step-mel", "step-delta", "mu", "final"}
    assert "K = 100000 steps is more than this page runs" in message
    assert errors == []


def test_the_page_form_has_an_input_for_every_synthesis_control():
    """The form is HTML: a control added to SynthesisControls must get its input there too."""
    import dataclasses
    import re

    from tts_ebm.controls import SynthesisControls

    page = (Path(__file__).parents[1] / "tts_ebm" / "serve" / "page.html").read_text()
    inputs = set(re.findall(r'<(?:input|select)[^>]* name="(\w+)"', page))
    assert {f.name for f in dataclasses.fields(SynthesisControls)} <= inputs
