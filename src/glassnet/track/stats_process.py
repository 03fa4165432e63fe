"""A process beside training that summarises a watch's logged steps: no GIL between them.

The statistics of logged steps are NumPy reductions (:mod:`glassnet.track.paramstats`).
In a thread they share the GIL with the training loop, and ``ufunc.reduceat`` holds it
for its whole loop: on the digits benchmark with ``watch(log_freq=1)`` the summariser
thread made ``fit`` slower than summarising in line would have. In a process of their
own they run on the second core while training goes on. The kept steps lie in shared
memory (:class:`~glassnet.track.kept_steps.KeptSteps`), so a job is one line on a pipe;
the process writes their rows into the run itself and answers a job once they are
committed (:mod:`glassnet.track.stats_worker`). Nothing of it runs in this process's
threads but reading the answers, so training keeps the GIL to itself.

One process per Python process, started in the background by the first watch that logs
often enough for it to pay (:func:`wanted`); it ends with its parent. Until it is ready,
when it cannot start, and when it dies, the summariser thread does the same work on the
same arrays (a job it left is done there), so no logged step is lost.
``GLASSNET_STATS_PROCESS=0`` turns it off; ``=1`` uses it for every watch.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time

logger = logging.getLogger("glassnet.track")

EVERY_STEPS = 4  # a watch logging at least every 4th step uses the process
_STUCK_SECONDS = 30.0  # a process with jobs that answers nothing this long is ended


def wanted(log_freq: int) -> bool:
    """Whether a watch logging every ``log_freq`` steps should use the process."""
    setting = os.environ.get("GLASSNET_STATS_PROCESS", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    return log_freq <= EVERY_STEPS


class StatsProcess:
    """The client of ``python -m glassnet.track.stats_worker``.

    A job (see :class:`glassnet.track.watch`'s ``_Job``) has ``message(id)`` (its line),
    ``finish(irregular)`` (called with the process's answer) and ``run_here()`` (do it in
    this process instead); ``finish`` and ``run_here`` run in this client's thread.
    """

    def __init__(self) -> None:
        self.ready = False
        self.broken: str | None = None  # why it cannot be used
        self._process: subprocess.Popen | None = None
        self._jobs: dict[int, object] = {}
        self._changed = threading.Condition()
        self._ids = itertools.count()
        self._answered_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="glassnet-track-stats")
        self._thread.start()

    def submit(self, job) -> bool:
        """Send ``job`` to the process; False when it is not ready (run it elsewhere)."""
        with self._changed:
            if not self.ready:
                return False
            number = next(self._ids)
            if not self._jobs:
                self._answered_at = time.monotonic()
            self._jobs[number] = job
        try:
            self._process.stdin.write(job.message(number))
            self._process.stdin.flush()
        except (OSError, ValueError):
            pass  # the process is gone: the client's thread runs what it left, this too
        return True

    def wait(self) -> None:
        """Return when every job submitted so far is finished (here or there)."""
        with self._changed:
            while self._jobs:
                self._changed.wait(1.0)
                if self._jobs and time.monotonic() - self._answered_at > _STUCK_SECONDS:
                    logger.warning("glassnet.track: the statistics process answered nothing "
                                   "for %.0f s; ending it and summarising here", _STUCK_SECONDS)
                    self._end()

    def forget(self, path: str) -> None:
        """The set at ``path`` will not be sent again: the process may unmap it."""
        if self.ready:
            try:
                self._process.stdin.write(json.dumps({"forget": path}).encode() + b"\n")
                self._process.stdin.flush()
            except (OSError, ValueError):
                pass

    def close(self, timeout: float = 5.0) -> None:
        """End the process (its stdin closes, it exits) once its jobs are done."""
        self.wait()
        process = self._process
        if process is not None:
            try:
                process.stdin.close()
            except OSError:
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
        self._thread.join(timeout)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _end(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def _run(self) -> None:
        try:
            from glassnet.track.kept_steps import remove_stale

            remove_stale()  # shared sets of processes killed before they removed them
            self._process = _start()
            if not self._process.stdout.readline():
                raise OSError(f"it exited at start (code {self._process.wait()})")
            with self._changed:
                self.ready = True
            for line in self._process.stdout:
                answer = json.loads(line)
                with self._changed:
                    job = self._jobs.pop(answer.get("job"), None)
                    self._answered_at = time.monotonic()
                if job is not None:
                    if "error" in answer:
                        logger.debug("glassnet.track: statistics process: %s", answer["error"])
                        _safely(job.run_here)
                    else:
                        _safely(job.finish, bool(answer["irregular"]))
                    with self._changed:
                        self._changed.notify_all()
            raise OSError(f"it ended (code {self._process.wait()})")
        except Exception as exc:  # noqa: BLE001 - any failure: summarise here instead
            self.broken = f"{type(exc).__name__}: {exc}"
            logger.debug("glassnet.track: no statistics process: %s", self.broken)
        finally:
            with self._changed:
                self.ready = False
                left, self._jobs = list(self._jobs.values()), {}
            for job in left:
                _safely(job.run_here)
            with self._changed:
                self._changed.notify_all()


def _start() -> subprocess.Popen:
    import glassnet

    # the child imports the glassnet this process runs, wherever it was found
    root = os.path.dirname(os.path.dirname(os.path.abspath(glassnet.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"  # it uses no BLAS; never a thread pool beside the training's
    return subprocess.Popen([sys.executable, "-m", "glassnet.track.stats_worker"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, close_fds=True)


def _safely(call, *args) -> None:
    try:
        call(*args)
    except Exception:  # a bug in one summary must not stop the others
        logger.exception("glassnet.track: a summary of logged steps failed; its rows are lost")


_process: tuple[int, StatsProcess] | None = None
_made = threading.Lock()


def stats_process(start: bool = True) -> StatsProcess | None:
    """This process's statistics process (started on first call; None with ``start``
    False and none started)."""
    global _process
    with _made:
        if _process is None or _process[0] != os.getpid():
            if not start:
                return None
            _process = (os.getpid(), StatsProcess())
        return _process[1]
