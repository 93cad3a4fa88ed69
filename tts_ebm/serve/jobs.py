"""A bounded job queue with one worker thread: synthesis requests run one at a time.

One worker keeps the model's threads to itself (two syntheses at once on a small CPU would each
run at half speed and both be late); a full queue refuses new jobs with a message instead of
letting waits grow without bound. Finished jobs are kept for a while (the page fetches their
audio and images), the oldest dropped first.
"""

from __future__ import annotations

import itertools
import queue
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tts_ebm.errors import UserInputError

KEEP_FINISHED = 32  # jobs remembered (finished or not); their per-step mels have a byte budget


class QueueFull(Exception):
    """Too many jobs waiting; the page says so and asks to try again."""


@dataclass
class Job:
    id: str
    work: Callable[[], Any] = field(repr=False)
    state: str = "queued"  # queued, running, done, error
    result: Any = field(default=None, repr=False)
    error: str | None = None


class JobQueue:
    """submit(work) -> Job; the worker runs `work()` and stores its result or its error message.

    A UserInputError (or FileNotFoundError) becomes its message; anything else is logged with
    its traceback on the server and shown on the page as a one-line internal error.
    """

    def __init__(self, max_waiting: int = 4, keep: int = KEEP_FINISHED) -> None:
        self.max_waiting, self.keep = max_waiting, keep
        self._waiting: queue.Queue[Job] = queue.Queue()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        threading.Thread(target=self._run, name="synthesis-worker", daemon=True).start()

    def submit(self, work: Callable[[], Any]) -> Job:
        with self._lock:
            if self._waiting.qsize() >= self.max_waiting:
                raise QueueFull(f"the server is busy ({self.max_waiting} syntheses waiting); "
                                "try again in a moment")
            job = Job(id=str(next(self._ids)), work=work)
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)
            self._waiting.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        """Jobs ahead of a queued one (0: next)."""
        with self._lock:
            queued = [j for j in self._jobs.values() if j.state == "queued"]
        return queued.index(job) if job in queued else 0

    def _run(self) -> None:
        while True:
            job = self._waiting.get()
            job.state = "running"
            try:
                job.result = job.work()
                job.state = "done"
            except (UserInputError, FileNotFoundError) as error:
                job.error, job.state = str(error), "error"
            except Exception as error:  # noqa: BLE001 - the page gets one line, the log the rest
                traceback.print_exc()
                job.error = f"internal error: {type(error).__name__}: {error}"
                job.state = "error"
