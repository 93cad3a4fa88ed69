"""festival with the CMU ARCTIC slt HTS voice, spoken from a few long-lived `festival --pipe`s.

Starting festival and loading the voice costs about as much as speaking two sentences, so each
worker keeps one process and feeds it Scheme commands; a marker line on stdout says a command
finished (festival carries on after a failed command, so the wav's presence is what counts).
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from tts_ebm.errors import UserInputError

VOICE_NAME = "cmu_us_slt_arctic_hts"
VOICE_FILE = Path(f"/usr/share/festival/voices/us/{VOICE_NAME}/hts/{VOICE_NAME}.htsvoice")
INSTALL = "install them with `apt-get install festival festvox-us-slt-hts`"
MARKER = "tts-ebm: done"
ANSWER_TIMEOUT_S = 120  # a sentence takes well under a second; silence this long means a hang


def require() -> None:
    if shutil.which("festival") is None:
        raise UserInputError(f"festival not found on PATH; {INSTALL}")
    if not VOICE_FILE.is_file():
        raise UserInputError(f"festival voice {VOICE_NAME} not found ({VOICE_FILE}); {INSTALL}")


def scheme_string(value: str) -> str:
    """value as a Scheme string literal: backslashes and double quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_text(text: str) -> str:
    """text on one line with accents folded to ASCII (festival's lexicon is ASCII: grâce -> grace)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.split())


class FestivalProcess:
    """One `festival --pipe` with the voice loaded; say() writes one RIFF wav at the voice's rate."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close())
        self._process = subprocess.Popen(
            ["festival", "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        try:
            printed = self._run(f'(voice_{VOICE_NAME}) (format t "%l\\n" current-voice)')
            if printed != [VOICE_NAME]:  # festival carries on with its default voice
                raise RuntimeError(f"festival did not load {VOICE_NAME}: {self._errors()}")
        except RuntimeError:
            self.close()
            raise

    def say(self, text: str, path: Path) -> Path:
        utterance = f"(utt.synth (Utterance Text {scheme_string(festival_text(text))}))"
        self._run(f"(utt.save.wave {utterance} {scheme_string(str(path))} 'riff)")
        if not path.is_file():
            raise RuntimeError(f"festival did not speak {text!r}: {self._errors()}")
        return path

    def close(self) -> None:
        if self._process.stdin:
            with contextlib.suppress(OSError):  # festival may have exited already
                self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()

    def _run(self, command: str) -> list[str]:
        """Send command, wait for the marker printed after it (killing a festival that hangs) and
        return the lines printed before it."""
        assert self._process.stdin and self._process.stdout
        watchdog = threading.Timer(ANSWER_TIMEOUT_S, self._process.kill)
        watchdog.start()
        printed = []
        try:
            self._process.stdin.write(f'{command}\n(format t "{MARKER}\\n")\n(fflush nil)\n')
            self._process.stdin.flush()
            for line in self._process.stdout:
                if line.rstrip("\n") == MARKER:
                    return printed
                printed.append(line.rstrip("\n"))
        except OSError:
            pass  # festival exited; said below
        finally:
            watchdog.cancel()
        raise RuntimeError(
            f"festival exited or gave no answer within {ANSWER_TIMEOUT_S} s: {self._errors()}"
        )

    def _errors(self) -> str:
        self._stderr.seek(0)
        return " ".join(self._stderr.read().split()[-40:]) or "no error message"


def speak_many(jobs: Sequence[tuple[str, Path]], workers: int) -> Iterator[Path]:
    if not jobs:
        return
    n_processes = max(1, min(workers, len(jobs)))
    with ExitStack() as stack:
        idle: queue.SimpleQueue[FestivalProcess] = queue.SimpleQueue()
        for _ in range(n_processes):
            process = FestivalProcess()
            stack.callback(process.close)
            idle.put(process)

        def say(job: tuple[str, Path]) -> Path:
            process = idle.get()
            try:
                return process.say(*job)
            finally:
                idle.put(process)

        pool = ThreadPoolExecutor(n_processes)
        try:
            yield from pool.map(say, jobs)
        finally:
            pool.shutdown(cancel_futures=True)
