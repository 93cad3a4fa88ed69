"""The interactive synthesis page: a Flask app around one loaded `Synthesizer`.

Routes: `GET /` the page; `POST /api/synthesize` (JSON: text, vocoder and the
`SynthesisControls` fields) queues a job and answers its id, or 400 with a message for bad input,
or 503 when the queue is full; `GET /api/jobs/ID` its state and, when done, the result (energies
per step, timings, URLs); `GET /api/jobs/ID/audio.wav`, `.../mel/mu.png`, `.../mel/final.png`,
`.../mel/step/K.png` (the mel after step K) and `.../delta/K.png` (what step K changed). The
per-step mels of finished jobs are kept within MAX_KEPT_STEP_BYTES, the oldest jobs' dropped
first; a job whose steps are gone says so (`steps_kept`, `steps_note`) and its step images
answer 410 with that message, while its audio, energies, μ and final mel stay.
"""

from __future__ import annotations

import dataclasses
import io
import math
import queue
import struct
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import numpy as np
import soundfile as sf

import vocoder as vocoders
from tts_ebm import controls, samplers
from tts_ebm.controls import SynthesisControls
from tts_ebm.errors import UserInputError
from tts_ebm.serve.images import delta_png, mel_png
from tts_ebm.serve.jobs import JobQueue, QueueFull
from tts_ebm.synthesis import StepRecord, Synthesizer, Utterance

PAGE = Path(__file__).with_name("page.html")

# Per-step mels kept across finished jobs. One job at the page's limits (K = 100, 500 characters,
# ~2,900 frames) holds (K + 1) x 80 x T float32 = ~93 MB of them, so the KEEP_FINISHED = 32 jobs
# the queue keeps could otherwise hold ~3 GB (four times that at length scale 4). Within 256 MiB
# two such jobs keep their steps; one at length scale 4 (~371 MB) is over it alone and keeps none.
MAX_KEPT_STEP_BYTES = 256 * 2**20


@dataclass(frozen=True)
class PageLimits:
    """What one request may ask for: a shared demo machine must stay responsive."""

    max_text_chars: int = 500
    max_steps: int = 100
    max_temperature: float = 3.0
    max_step_size: float = 10.0
    length_scale: tuple[float, float] = (0.25, 4.0)
    max_candidates: int = 8

    def check(self, text: str, controls: SynthesisControls) -> None:
        """UserInputError naming the first control out of range."""
        if len(text) > self.max_text_chars:
            raise UserInputError(f"text is {len(text)} characters long; the page takes at most "
                                 f"{self.max_text_chars}")
        if controls.steps is not None and controls.steps > self.max_steps:
            raise UserInputError(f"K = {controls.steps} steps is more than this page runs "
                                 f"(at most {self.max_steps})")
        if controls.temperature is not None and controls.temperature > self.max_temperature:
            raise UserInputError(f"τ = {controls.temperature:g} is beyond the page's limit of "
                                 f"{self.max_temperature:g} (the start sample μ + τε would be "
                                 "mostly noise)")
        if isinstance(controls.step_size, float) and controls.step_size > self.max_step_size:
            raise UserInputError(f"step size {controls.step_size:g} is beyond the page's limit "
                                 f"of {self.max_step_size:g}")
        low, high = self.length_scale
        if not low <= controls.length_scale <= high:
            raise UserInputError(f"length scale must be between {low:g} and {high:g}, got "
                                 f"{controls.length_scale:g}")
        if controls.n_candidates is not None and controls.n_candidates > self.max_candidates:
            raise UserInputError(f"at most {self.max_candidates} candidates, got "
                                 f"{controls.n_candidates}")


class StepBudget:
    """Keeps the per-step states of finished jobs within `budget` bytes, dropping the oldest
    jobs' first: the bulk of a job's memory, which the page can do without (audio, energies, μ
    and the final mel stay).

    Holds weak references, so a job the queue has forgotten stops counting once it is freed.
    """

    def __init__(self, budget: int = MAX_KEPT_STEP_BYTES) -> None:
        self.budget = budget
        self._records: deque[weakref.ref[StepRecord]] = deque()
        self._lock = threading.Lock()

    def add(self, record: StepRecord) -> None:
        """Counts `record`'s states, then drops the oldest until the total fits (`record`'s own
        too when they alone are over the budget: never more than `budget` is kept)."""
        with self._lock:
            self._records = deque(ref for ref in self._records if _held_bytes(ref))
            self._records.append(weakref.ref(record))
            while self._bytes() > self.budget:
                oldest = self._records.popleft()()
                if oldest is not None:
                    oldest.states = None

    def kept_bytes(self) -> int:
        with self._lock:
            return self._bytes()

    def _bytes(self) -> int:
        return sum(_held_bytes(ref) for ref in self._records)


def _held_bytes(ref: weakref.ref[StepRecord]) -> int:
    record = ref()
    return 0 if record is None or record.states is None else record.states.nbytes


def steps_note(job_id: str) -> str:
    """What the page and the API say for a job whose per-step mels were dropped."""
    return (f"the steps of job {job_id} are no longer kept (the page keeps the per-step mels of "
            "recent jobs only, within a memory budget); its audio, energies, μ and final mel are "
            "still here: synthesise again to step through it")


# the controls whose page default is the checkpoint's sampler setting
SAMPLER_CONTROLS = ("steps", "step_size", "temperature", "n_candidates")


class Demo:
    """The loaded model, the vocoders offered on the page (the first is `synth`'s own, the others
    load once, on first use), the job queue and the budget for the jobs' per-step mels;
    `_synthesize` runs on the queue's worker only."""

    def __init__(self, synth: Synthesizer, checkpoint_name: str, vocoder_specs: list[str],
                 limits: PageLimits = PageLimits(), max_waiting: int = 4,
                 kept_step_bytes: int = MAX_KEPT_STEP_BYTES) -> None:
        self.synth, self.checkpoint_name = synth, checkpoint_name
        self.vocoder_specs, self.limits = vocoder_specs, limits
        self.jobs = JobQueue(max_waiting=max_waiting)
        self.steps = StepBudget(kept_step_bytes)
        self._vocoders: dict[str, vocoders.Vocoder] = {vocoder_specs[0]: synth.vocoder}

    def settings(self) -> dict[str, Any]:
        """What the page shows before a synthesis: names, defaults and limits."""
        config = self.synth.bundle.config
        sampler = self.synth.build_sampler()
        return {
            "checkpoint": self.checkpoint_name, "criterion": config.criterion.name,
            "field": config.model.get("field", "energy"), "samplers": samplers.names(),
            "pitch": self.synth.bundle.model.variance is not None,
            "vocoders": self.vocoder_specs, "limits": dataclasses.asdict(self.limits),
            "controls": controls.form_fields(),
            "defaults": {**{f.name: f.default for f in dataclasses.fields(SynthesisControls)},
                         "sampler": config.sampler.name, "seed": 0,
                         **{name: getattr(sampler, name) for name in SAMPLER_CONTROLS}},
        }

    def submit(self, request: dict[str, Any]) -> str:
        """Checks everything a user can get wrong, then queues the synthesis; returns its id."""
        text, controls, spec = self._checked(request)
        return self.jobs.submit(lambda: self._synthesize(text, controls, spec)).id

    def stream(self, request: dict[str, Any]) -> Iterator[bytes]:
        """Checks the request like `submit`, queues a streamed synthesis and returns a WAV
        byte stream: the header at once, then each piece of audio as the job vocodes it."""
        text, controls, spec = self._checked(request)
        pieces: queue.Queue[np.ndarray | Exception | None] = queue.Queue()
        self.jobs.submit(lambda: self._stream(text, controls, spec, pieces))

        def wav() -> Iterator[bytes]:
            yield streaming_wav_header(self.synth.sample_rate)
            while (piece := pieces.get()) is not None:
                if isinstance(piece, Exception):
                    return  # the job's error ends the audio; the job keeps the message
                yield np.rint(np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes()

        return wav()

    def _checked(self, request: dict[str, Any]) -> tuple[str, SynthesisControls, str]:
        if not isinstance(request, dict):
            raise UserInputError("the request must be a JSON object")
        values = dict(request)
        text = values.pop("text", "")
        spec = values.pop("vocoder", None) or self.vocoder_specs[0]
        if not isinstance(text, str):
            raise UserInputError("text must be a string")
        if spec not in self.vocoder_specs:
            raise UserInputError(f"unknown vocoder {spec!r}; this page offers "
                                 f"{', '.join(self.vocoder_specs)}")
        controls = SynthesisControls.from_mapping(values)
        self.limits.check(text, controls)
        self.synth.sentences(text)  # empty or unspeakable text fails here, not in the queue
        self.synth.build_sampler(controls)  # options the sampler refuses, likewise
        return text, controls, spec

    def _vocoder(self, spec: str) -> vocoders.Vocoder:
        """The worker is the only caller: the cache needs no lock."""
        if spec not in self._vocoders:
            self._vocoders[spec] = vocoders.load(spec, self.synth.device)
        return self._vocoders[spec]

    def _stream(self, text: str, controls: SynthesisControls, spec: str,
                pieces: queue.Queue) -> dict[str, Any]:
        try:
            for piece in self.synth.stream(text, controls, vocoder=self._vocoder(spec)):
                pieces.put(piece)
        except Exception as problem:
            pieces.put(problem)
            raise
        finally:
            pieces.put(None)
        return {"streamed": True}

    def _synthesize(self, text: str, controls: SynthesisControls, spec: str) -> dict[str, Any]:
        """The job's vocoder goes to this synthesis only; the shared `synth` is never changed, so
        no other job can run with it."""
        began = time.perf_counter()
        (utterance,) = self.synth.synthesize_utterances([text], controls, keep_steps=True,
                                                        vocoder=self._vocoder(spec))
        seconds = time.perf_counter() - began
        self.steps.add(utterance.record)
        return {"utterance": utterance, "seconds": seconds, "controls": controls, "spec": spec}


def streaming_wav_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header for audio of unknown length: the sizes at their maximum, as
    browsers and players read a stream that ends when the connection does."""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
            + b"data" + struct.pack("<I", unknown - 36))


def summary(job_id: str, result: dict[str, Any]) -> dict[str, Any]:
    """The JSON the page draws from (numbers and URLs; the arrays stay on the server)."""
    utterance: Utterance = result["utterance"]
    record = utterance.record
    energies = [None if not math.isfinite(e) else float(e) for e in record.energies]
    base = f"/api/jobs/{job_id}"
    kept = record.states is not None
    return {
        "sentences": utterance.sentences, "audio_seconds": utterance.seconds,
        "synthesis_seconds": result["seconds"], "rtf": result["seconds"] / utterance.seconds,
        "frames": int(utterance.mel.shape[1]), "energies": energies,
        "steps": len(energies) - 1, "vocoder": result["spec"],
        "controls": dataclasses.asdict(result["controls"]),
        "audio": f"{base}/audio.wav", "mu": f"{base}/mel/mu.png",
        "final": f"{base}/mel/final.png", "step": f"{base}/mel/step/",
        "delta": f"{base}/delta/", "steps_kept": kept,
        "steps_note": None if kept else steps_note(job_id),
    }


def create_app(demo: Demo) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # a sentence and a few numbers

    def error(message: str, status: int = 400) -> flask.Response:
        return flask.make_response(flask.jsonify(error=message), status)

    def finished(job_id: str) -> dict[str, Any]:
        job = demo.jobs.get(job_id)
        if job is None or job.state != "done":
            flask.abort(404)
        return job.result

    @app.get("/")
    def page() -> flask.Response:
        return flask.Response(PAGE.read_text(encoding="utf-8"), mimetype="text/html")

    @app.get("/api/settings")
    def settings() -> flask.Response:
        return flask.jsonify(demo.settings())

    @app.post("/api/synthesize")
    def synthesize() -> flask.Response:
        try:
            job_id = demo.submit(flask.request.get_json(force=True, silent=True))
        except UserInputError as problem:
            return error(str(problem))
        except QueueFull as problem:
            return error(str(problem), 503)
        return flask.make_response(flask.jsonify(job=job_id), 202)

    @app.get("/api/stream")
    def stream() -> flask.Response:
        """GET, so that an <audio> element plays it: the query holds the text and controls."""
        try:
            audio = demo.stream(flask.request.args.to_dict())
        except UserInputError as problem:
            return error(str(problem))
        except QueueFull as problem:
            return error(str(problem), 503)
        return flask.Response(audio, mimetype="audio/wav")

    @app.get("/api/jobs/<job_id>")
    def job_state(job_id: str) -> flask.Response:
        job = demo.jobs.get(job_id)
        if job is None:
            return error(f"no job {job_id} (finished jobs are kept for a while only)", 404)
        body: dict[str, Any] = {"state": job.state}
        if job.state == "queued":
            body["ahead"] = demo.jobs.position(job)
        elif job.state == "error":
            body["error"] = job.error
        elif job.state == "done":
            body["result"] = summary(job_id, job.result)
        return flask.jsonify(body)

    @app.get("/api/jobs/<job_id>/audio.wav")
    def audio(job_id: str) -> flask.Response:
        utterance = finished(job_id)["utterance"]
        buffer = io.BytesIO()
        sf.write(buffer, np.clip(utterance.waveform, -1.0, 1.0), utterance.sample_rate,
                 subtype="PCM_16", format="WAV")
        return flask.send_file(io.BytesIO(buffer.getvalue()), mimetype="audio/wav",
                               download_name=f"tts-ebm-{job_id}.wav")

    def png(data: bytes) -> flask.Response:
        return flask.Response(data, mimetype="image/png")

    def kept_states(job_id: str, k: int) -> tuple[StepRecord, np.ndarray]:
        """The job's record and states (read once: the budget may drop them meanwhile); 410 with
        the reason when they are gone, 404 for a step the job does not have."""
        record = finished(job_id)["utterance"].record
        states = record.states
        if states is None:
            flask.abort(error(steps_note(job_id), 410))
        if not 0 <= k < len(states):
            flask.abort(404)
        return record, states

    @app.get("/api/jobs/<job_id>/mel/mu.png")
    def mu_image(job_id: str) -> flask.Response:
        utterance = finished(job_id)["utterance"]
        return png(mel_png(utterance.record.mu, *_range(utterance)))

    @app.get("/api/jobs/<job_id>/mel/final.png")
    def final_image(job_id: str) -> flask.Response:
        utterance = finished(job_id)["utterance"]
        return png(mel_png(utterance.mel, *_range(utterance)))

    @app.get("/api/jobs/<job_id>/mel/step/<int:k>.png")
    def step_image(job_id: str, k: int) -> flask.Response:
        record, states = kept_states(job_id, k)
        return png(mel_png(states[k], *_range_of(record.mu, states)))

    @app.get("/api/jobs/<job_id>/delta/<int:k>.png")
    def delta_image(job_id: str, k: int) -> flask.Response:
        record, states = kept_states(job_id, k)
        before = states[k - 1] if k else record.mu
        return png(delta_png(states[k] - before))

    return app


def _range(utterance: Utterance) -> tuple[float, float]:
    """One colour scale for μ, the final mel and every step of a job, so images compare; the
    final mel (the last step) stands in for the steps once they are dropped."""
    states = utterance.record.states
    return _range_of(utterance.record.mu, utterance.mel if states is None else states)


def _range_of(mu: np.ndarray, mels: np.ndarray) -> tuple[float, float]:
    return min(float(mu.min()), float(mels.min())), max(float(mu.max()), float(mels.max()))
