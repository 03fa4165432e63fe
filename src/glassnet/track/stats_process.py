"""A process beside training that summarises a watch's logged steps: no GIL between them.

The statistics of logged steps are NumPy reductions (:mod:`glassnet.track.paramstats`).
In a thread they share the GIL with the training loop, and ``ufunc.reduceat`` holds it
for its whole loop: on the digits benchmark with ``watch(log_freq=1)`` the summariser
thread made ``fit`` slower than summarising in line would have. In a process of their
own they run on the second core while training goes on. The kept steps lie in shared
memory (:class:`~glassnet.track.kept_steps.KeptSteps`), so a job is one line on a pipe
and its results come back in the same memory (:mod:`glassnet.track.stats_worker`).

No thread of this process waits on the answers: a thread woken by one would take the
GIL from the training loop, and wait milliseconds for it. The watch's own thread reads
what has come whenever it sends a job (:meth:`StatsProcess.poll`), and copies those
results out into rows for the store's writer; :meth:`~StatsProcess.wait` reads until
every job is answered.

One process per Python process, started in the background by the first watch that logs
often enough for it to pay (:func:`wanted`); it ends with its parent. Until it is ready,
when it cannot start, and when it dies, the summariser thread or this process does the
same work on the same memory (a job it left is done here), so no logged step is lost.
``GLASSNET_STATS_PROCESS=0`` turns it off; ``=1`` uses it for every watch.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import select
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

    A job (see :mod:`glassnet.track.step_keeper`'s ``_Job``) has ``message(id)`` (its
    line), ``finish()`` (the process summarised it and wrote its rows) and ``run_here()``
    (do it in this process instead); both are called by whichever thread reads the
    answer. The process writes the rows itself, through its own handle on the store: in
    this process, the writer thread's share of the GIL (it takes it back after every
    statement) cost training more than the statistics did (1.95x against 1.64x).
    """

    def __init__(self) -> None:
        self.ready = False
        self.broken: str | None = None  # why it cannot be used
        self._process: subprocess.Popen | None = None
        self._stdin: int | None = None
        self._stdout: int | None = None
        self._jobs: dict[int, object] = {}
        self._lock = threading.Lock()  # the jobs, the pipe's ends
        self._reading = threading.Lock()  # one reader of the answers at a time
        self._unread = b""
        self._ids = itertools.count()
        self._answered_at = time.monotonic()
        self._starting = threading.Thread(target=self._start, daemon=True,
                                          name="glassnet-track-stats-start")
        self._starting.start()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def submit(self, job) -> bool:
        """Send ``job`` to the process; False when it is not ready (do it elsewhere)."""
        with self._lock:
            if not self.ready:
                return False
            number = next(self._ids)
            if not self._jobs:
                self._answered_at = time.monotonic()
            self._jobs[number] = job
            try:
                _write_line(self._stdin, job.message(number))
            except BlockingIOError:  # its input is full (it is stuck): do it elsewhere
                del self._jobs[number]
                return False
            except OSError:  # the process is gone: what it left is done here, this too
                pass
        self.poll()
        return True

    def poll(self, timeout: float = 0.0) -> None:
        """Handle the answers that have come (waiting up to ``timeout`` for the first)."""
        if not self._reading.acquire(blocking=timeout > 0):
            return  # another thread is reading them
        try:
            if self._process is None or self._stdout is None:
                return
            if timeout > 0:
                select.select([self._stdout], [], [], timeout)
            try:
                chunk = os.read(self._stdout, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:  # it ended: its jobs are done here
                self._lost(f"it ended (code {self._process.poll()})")
                return
            *lines, self._unread = (self._unread + chunk).split(b"\n")
            for line in lines:
                try:
                    answer = json.loads(line)
                except ValueError:  # not an answer (something else wrote to its stdout)
                    continue
                with self._lock:
                    job = self._jobs.pop(answer.get("job"), None)
                    self._answered_at = time.monotonic()
                if job is None:
                    continue
                if "error" in answer:
                    logger.debug("glassnet.track: statistics process: %s", answer["error"])
                    _safely(job.run_here)
                else:
                    _safely(job.finish)
        finally:
            self._reading.release()

    def wait(self) -> None:
        """Return when every job submitted so far is finished (here or there)."""
        while True:
            with self._lock:
                if not self._jobs:
                    return
                stuck = time.monotonic() - self._answered_at > _STUCK_SECONDS
            if stuck:
                logger.warning("glassnet.track: the statistics process answered nothing "
                               "for %.0f s; ending it and summarising here", _STUCK_SECONDS)
                self._end()
            self.poll(timeout=0.5)

    def forget(self, path: str) -> None:
        """The set at ``path`` will not be sent again: the process may unmap it."""
        with self._lock:
            if self.ready:
                try:
                    _write_line(self._stdin, json.dumps({"forget": path}).encode() + b"\n")
                except OSError:
                    pass

    def close(self, timeout: float = 5.0) -> None:
        """End the process (its stdin closes, it exits) once its jobs are done."""
        self._starting.join(timeout)
        self.wait()
        with self._lock:
            self.ready = False
            process = self._process
        if process is not None:
            process.stdin.close()  # it reads the end of its input and exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdout.close()

    def _start(self) -> None:
        try:
            from glassnet.track.kept_steps import remove_stale

            remove_stale()  # shared sets of processes killed before they removed them
            process = _popen()
            if not process.stdout.readline():
                raise OSError(f"it exited at start (code {process.wait()})")
            self._stdin, self._stdout = process.stdin.fileno(), process.stdout.fileno()
            os.set_blocking(self._stdout, False)
            os.set_blocking(self._stdin, False)  # a stuck process never blocks training
            with self._lock:
                self._process = process
                self.ready = True
        except Exception as exc:  # noqa: BLE001 - any failure: summarise here instead
            self.broken = f"{type(exc).__name__}: {exc}"
            logger.debug("glassnet.track: no statistics process: %s", self.broken)

    def _lost(self, why: str) -> None:
        """The process is gone: every job it has not answered is done here."""
        with self._lock:
            self.ready = False
            self.broken = self.broken or why
            left, self._jobs = list(self._jobs.values()), {}
            self._stdout = None
        for job in left:
            _safely(job.run_here)

    def _end(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()


def _write_line(fd: int, line: bytes) -> None:
    """Write a whole line to the non-blocking pipe ``fd``: BlockingIOError if none of it
    fits now. A line longer than the pipe's atomic size may go in parts; then the rest
    is waited for (the process is reading: it took the first part), for a while."""
    written = os.write(fd, line)
    deadline = time.monotonic() + _STUCK_SECONDS
    while written < len(line):
        if time.monotonic() > deadline:
            raise OSError("the statistics process stopped reading")
        select.select([], [fd], [], 1.0)
        try:
            written += os.write(fd, line[written:])
        except BlockingIOError:
            continue


def _popen() -> subprocess.Popen:
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


@atexit.register
def _close_at_exit() -> None:
    if _process is not None and _process[0] == os.getpid():
        try:
            _process[1].close(timeout=1.0)
        except Exception:  # noqa: BLE001 - at exit, nothing more to do
            pass


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
