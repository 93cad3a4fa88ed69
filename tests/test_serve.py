"""`tts-ebm serve`: the page's API with Flask's test client, and the page itself in headless
Chromium against a real server on 127.0.0.1 (tiny checkpoint, Griffin-Lim)."""

from __future__ import annotations

import dataclasses
import io
import itertools
import re
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

import vocoder as vocoders
from tts_ebm import criteria
from tts_ebm.cli import build_parser
from tts_ebm.controls import SynthesisControls
from tts_ebm.model import AcousticModel, ModelConfig
from tts_ebm.serve.app import Demo, PageLimits, StepBudget, create_app
from tts_ebm.serve.jobs import KEEP_FINISHED
from tts_ebm.synthesis import StepRecord, Synthesizer
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
        poll(browser, "document.querySelector('[name=sampler]')?.options.length > 0")
        named = browser.evaluate("[...document.getElementById('form').elements].map(e => e.name)")
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
        browser.evaluate("document.querySelector('[name=steps]').value = 4")
        browser.evaluate("document.getElementById('stream').click()")
        streamed = poll(browser, "document.getElementById('stream-audio').readyState >= 2")
    assert state["message"] == "done" and state["error"] is None
    assert state["duration"] > 0.2
    energies = state["energies"]
    assert len(energies) == 4 + 1  # K = 4, the checkpoint's default
    assert all(np.isfinite(energies)) and all(b <= a for a, b in itertools.pairwise(energies))
    assert {name for name, width in state["images"] if width > 0} == {
        "step-mel", "step-delta", "mu", "final"}
    assert "K = 100000 steps is more than this page runs" in message
    assert errors == []
    assert {f.name for f in dataclasses.fields(SynthesisControls)} < set(named)  # + text, vocoder
    assert streamed  # the streamed WAV loaded into its player


def test_the_form_is_built_from_the_settings_one_input_per_control(demo: Demo) -> None:
    """/api/settings carries every SynthesisControls field with its label and input, and a
    default for each; the page writes none by hand, so a new control needs no HTML."""
    settings = demo.settings()
    names = [f.name for f in dataclasses.fields(SynthesisControls)]
    assert [c["name"] for c in settings["controls"]] == names
    assert all(c["label"] and c["input"] in ("number", "text", "select")
               for c in settings["controls"])
    assert set(settings["defaults"]) == set(names)
    assert {c["name"] for c in settings["controls"] if c.get("pitch")} == {
        "pitch_shift", "pitch_range"}
    page = (Path(__file__).parents[1] / "tts_ebm" / "serve" / "page.html").read_text()
    assert not set(re.findall(r'<(?:input|select)[^>]* name="(\w+)"', page)) & set(names)
    assert "s.controls" in page


def fake_record(frames: int, steps: int = PageLimits().max_steps) -> StepRecord:
    """A StepRecord of a job at K steps: (K + 1, 80, frames) float32 states, as the page keeps."""
    return StepRecord(energies=np.zeros(steps + 1), mu=np.zeros((80, frames), np.float32),
                      states=np.zeros((steps + 1, 80, frames), np.float32))


def test_kept_steps_stay_within_the_budget_oldest_first() -> None:
    """Jobs at the page's limits (K = max_steps; small T so the test is fast), one more than the
    queue keeps: the kept bytes never exceed the budget, the oldest jobs' states go first, the
    rest of a record stays; a job over the budget on its own keeps no steps at all."""
    one = fake_record(16).states.nbytes  # (100 + 1) x 80 x 16 x 4 bytes
    budget = StepBudget(int(2.5 * one))
    records = [fake_record(16) for _ in range(KEEP_FINISHED + 1)]
    for n, record in enumerate(records, 1):
        budget.add(record)
        assert budget.kept_bytes() <= budget.budget
        kept = [r.states is not None for r in records[:n]]
        assert kept == [False] * max(n - 2, 0) + [True] * min(n, 2), n
    assert all(r.mu.shape == (80, 16) and len(r.energies) == 101 for r in records)
    huge = fake_record(50)  # 101 x 80 x 50 x 4 > 2.5 x the 16-frame record
    budget.add(huge)
    assert huge.states is None and budget.kept_bytes() == 0
    assert budget.kept_bytes() <= budget.budget


def test_a_forgotten_job_stops_counting() -> None:
    """The budget holds weak references: states freed with their job are no longer counted."""
    budget = StepBudget(10 * fake_record(16).states.nbytes)
    record = fake_record(16)
    budget.add(record)
    assert budget.kept_bytes() == record.states.nbytes
    del record
    assert budget.kept_bytes() == 0


def test_a_job_whose_steps_were_dropped_says_so(synth: Synthesizer) -> None:
    """A budget of one job's steps: the second job's steps push out the first's; the first keeps
    its audio, μ and final mel, says its steps are gone and its step images answer 410 with
    that message instead of failing; the second's steps are all there."""
    demo = Demo(synth, "tiny.ckpt", ["griffin-lim"])
    client = create_app(demo).test_client()
    body = {"text": TEXT, "steps": 3, "seed": 1}
    first = wait(client, client.post("/api/synthesize", json=body).get_json()["job"])
    assert first["state"] == "done" and first["result"]["steps_kept"], first
    demo.steps.budget = demo.steps.kept_bytes()  # room for exactly this job's steps
    second = wait(client, client.post("/api/synthesize", json=body).get_json()["job"])
    assert second["state"] == "done" and second["result"]["steps_kept"], second
    assert demo.steps.kept_bytes() <= demo.steps.budget
    old = client.get(first["result"]["audio"].removesuffix("/audio.wav")).get_json()["result"]
    assert old["steps_kept"] is False and "are no longer kept" in old["steps_note"]
    for url in [old["audio"], old["mu"], old["final"]]:
        assert client.get(url).status_code == 200, url
    for url in [old["step"] + "0.png", old["delta"] + "3.png"]:
        gone = client.get(url)
        assert gone.status_code == 410 and gone.get_json()["error"] == old["steps_note"], url
    new = second["result"]
    assert new["steps_kept"] is True and new["steps_note"] is None
    assert all(client.get(new["step"] + f"{k}.png").status_code == 200 for k in range(4))


class MarkedVocoder:
    """A vocoder whose audio is recognisable: every sample 0.25."""

    sample_rate, hop_length = 22050, 256

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.full((mel.shape[0], mel.shape[-1] * self.hop_length), 0.25)


def test_each_job_gets_its_own_vocoder(synth: Synthesizer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Two jobs queued back to back with different vocoders: each is vocoded by its own, and the
    shared synthesizer's vocoder is the one it started with (the page's default job first, so a
    vocoder left behind on the synthesizer by the second would show)."""
    marked = MarkedVocoder()
    monkeypatch.setattr(vocoders, "load", lambda spec, device=None: marked)
    shared = synth.vocoder
    client = create_app(Demo(synth, "tiny.ckpt", ["griffin-lim", "marked"])).test_client()
    jobs = [client.post("/api/synthesize", json={"text": TEXT, "steps": 2, "vocoder": spec}
                        ).get_json()["job"] for spec in ["griffin-lim", "marked"]]
    audio = {}
    for job, spec in zip(jobs, ["griffin-lim", "marked"]):
        result = wait(client, job)["result"]
        assert result["vocoder"] == spec
        audio[spec], _ = sf.read(io.BytesIO(client.get(result["audio"]).data))
    assert marked.calls == 1  # the marked job only
    assert np.allclose(audio["marked"], 0.25, atol=1e-4)
    assert not np.allclose(audio["griffin-lim"], 0.25, atol=1e-2)
    assert synth.vocoder is shared


def test_the_stream_is_a_wav_that_plays_as_it_is_made(synth: Synthesizer) -> None:
    """GET /api/stream: a WAV header at once, then the same samples as the synthesis (HiFi-GAN's
    chunks are exact); bad input is a JSON error, as for /api/synthesize."""
    demo = Demo(synth, "tiny.ckpt", ["griffin-lim", "hifigan-lj"])
    client = create_app(demo).test_client()
    answer = client.get("/api/stream", query_string={"text": TEXT, "temperature": "0",
                                                     "vocoder": "hifigan-lj"})
    assert answer.status_code == 200 and answer.mimetype == "audio/wav"
    body = answer.get_data()
    assert body[:4] == b"RIFF" and body[8:16] == b"WAVEfmt " and body[36:40] == b"data"
    streamed = np.frombuffer(body[44:], dtype="<i2")
    (whole,) = synth.synthesize_utterances([TEXT], temperature=0,
                                           vocoder=vocoders.load("hifigan-lj", "cpu"))
    expected = np.rint(np.clip(whole.waveform, -1, 1) * 32767).astype(int)
    assert streamed.shape == expected.shape and np.abs(streamed - expected).max() <= 1
    bad = client.get("/api/stream", query_string={"text": TEXT, "steps": "100000"})
    assert bad.status_code == 400 and "more than this page runs" in bad.get_json()["error"]
