"""festival voices (CMU ARCTIC slt HTS, kal diphone, Catalan ona HTS) from long-lived `festival --pipe`s.

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
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from tts_ebm.errors import UserInputError

MARKER = "tts-ebm: done"
ANSWER_TIMEOUT_S = 120  # a sentence takes well under a second; silence this long means a hang


@dataclass(frozen=True)
class FestivalVoice:
    name: str  # festival's voice name: (voice_<name>) selects it
    file: Path  # a file the Debian package installs, to say what is missing
    packages: str  # apt packages that provide it
    encoding: str = "ascii"  # the voice's lexicon: ascii (accents folded) or latin-1 (kept)

    @property
    def install(self) -> str:
        return f"install them with `apt-get install festival {self.packages}`"


_VOICES = "/usr/share/festival/voices"
SLT = FestivalVoice(
    "cmu_us_slt_arctic_hts",
    Path(f"{_VOICES}/us/cmu_us_slt_arctic_hts/hts/cmu_us_slt_arctic_hts.htsvoice"),
    "festvox-us-slt-hts",
)
KAL = FestivalVoice(
    "kal_diphone",
    Path(f"{_VOICES}/english/kal_diphone/group/kallpc16k.group"),
    "festvox-kallpc16k",
)
# The UPC Catalan voices read ISO-8859-1: UTF-8 "cafè" is spoken as "s E a E f ...".
ONA = FestivalVoice(
    "upc_ca_ona_hts",
    Path(f"{_VOICES}/catalan/upc_ca_ona_hts/hts/upc_ca_ona.htsvoice"),
    "festival-ca festvox-ca-ona-hts",
    encoding="latin-1",
)


def require(voice: FestivalVoice = SLT) -> None:
    if shutil.which("festival") is None:
        raise UserInputError(f"festival not found on PATH; {voice.install}")
    if not voice.file.is_file():
        raise UserInputError(f"festival voice {voice.name} not found ({voice.file}); {voice.install}")


def scheme_string(value: str) -> str:
    """value as a Scheme string literal: backslashes and double quotes escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_text(text: str, encoding: str = "ascii") -> str:
    """text on one line that the voice's encoding can carry; for an ASCII lexicon accents are
    folded (grâce -> grace), other characters it cannot encode are dropped."""
    if encoding == "ascii":
        text = unicodedata.normalize("NFKD", text)
    else:
        text = unicodedata.normalize("NFC", text)
    folded = text.encode(encoding, "ignore").decode(encoding)
    return " ".join(folded.split())


class FestivalProcess:
    """One `festival --pipe` with the voice loaded; say() writes one RIFF wav at the voice's rate."""

    def __init__(self, voice: FestivalVoice = SLT) -> None:
        self.voice = voice
        self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close())
        self._process = subprocess.Popen(
            ["festival", "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding=voice.encoding,
            errors="replace",
        )
        try:
            printed = self._run(f'(voice_{voice.name}) (format t "%l\\n" current-voice)')
            if printed != [voice.name]:  # festival carries on with its default voice
                raise RuntimeError(f"festival did not load {voice.name}: {self._errors()}")
        except RuntimeError:
            self.close()
            raise

    def say(self, text: str, path: Path) -> Path:
        spoken = festival_text(text, self.voice.encoding)
        utterance = f"(utt.synth (Utterance Text {scheme_string(spoken)}))"
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


def speak_many(
    jobs: Sequence[tuple[str, Path]], workers: int, voice: FestivalVoice = SLT
) -> Iterator[Path]:
    if not jobs:
        return
    n_processes = max(1, min(workers, len(jobs)))
    with ExitStack() as stack:
        idle: queue.SimpleQueue[FestivalProcess] = queue.SimpleQueue()
        for _ in range(n_processes):
            process = FestivalProcess(voice)
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


def speaker(voice: FestivalVoice) -> tuple:
    """(require, speak_many) bound to one voice, for the voice registry."""
    return partial(require, voice), partial(speak_many, voice=voice)
