"""A thread that turns watchers' kept steps into rows while training goes on.

A watcher copies what a logged step offers and hands many such steps at once to
:meth:`Recorder.later <glassnet.track.observe.Recorder.later>`; the statistics are
computed here, on another core (NumPy releases the GIL in its loops), and the plain
rows they make go to the store's writer. ``wait`` returns once everything handed over
so far is done, so a run's rows are all with the writer before ``finish`` writes them.
One thread per process, started at the first job (a forked child starts its own).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque

logger = logging.getLogger("glassnet.track")


class Summariser:
    """Runs jobs (callables) one after another in a daemon thread, in order."""

    def __init__(self) -> None:
        self._jobs: deque = deque()
        self._ready = threading.Condition()
        self._unfinished = 0
        self._thread: threading.Thread | None = None

    def submit(self, job) -> None:
        with self._ready:
            self._jobs.append(job)
            self._unfinished += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name="glassnet-track-summariser")
                self._thread.start()
            self._ready.notify_all()

    def wait(self) -> None:
        """Return when every job submitted so far has run."""
        with self._ready:
            while self._unfinished:
                self._ready.wait()

    def _loop(self) -> None:
        while True:
            with self._ready:
                while not self._jobs:
                    self._ready.wait()
                job = self._jobs.popleft()
            try:
                job()
            except Exception:  # a bug in a summary must not stop training or other runs
                logger.exception("glassnet.track: a summary of logged steps failed; its "
                                 "rows are lost")
            with self._ready:
                self._unfinished -= 1
                self._ready.notify_all()


_process: tuple[int, Summariser] | None = None
_made = threading.Lock()


def summariser() -> Summariser:
    """This process's summariser."""
    global _process
    with _made:
        if _process is None or _process[0] != os.getpid():
            _process = (os.getpid(), Summariser())
        return _process[1]
