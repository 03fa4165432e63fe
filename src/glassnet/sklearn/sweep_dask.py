"""A sweep's fits on a dask.distributed cluster, each worker writing its own runs.

The client sends the workers the data once (scattered to every worker) and then one
task per batch of fits: the fold's indices, the configuration and the store's
*address* (a folder, or a database URL), never a connection or a Run object. A
worker opens the store itself (once per worker process: ``open_store`` keeps one
Store per address per process) and records every fit it makes as a run, so the
client never writes a fit's rows; it only gathers the small result of each fit.

The cluster is the one ``client`` is connected to, else the scheduler at
``scheduler``, else the current default client, else a LocalCluster of
``n_workers`` processes on 127.0.0.1 (one thread each, no dashboard) started for the
sweep and closed after it.

Each task runs its fits with BLAS limited to ``blas_threads`` (1 by default): two
worker processes whose OpenBLAS each spawns a thread per core would fight for the
cores (the LocalCluster's workers also start with OPENBLAS_NUM_THREADS=1, so their
BLAS never spins up the extra threads; distributed's own default does the same).

A fit that raises is recorded by its worker as a ``failed`` run with the error, and
comes back as a failure; a task that dies with its worker (KilledWorker) comes back as
failures of its fits. The sweep goes on either way. On Ctrl-C the tasks not started are
cancelled; a LocalCluster of ours is closed, its workers' open runs marked ``crashed``
at once (their processes are gone). On a cluster that is not ours, a fit already
running finishes and records itself; a worker that is killed leaves its run to the
heartbeat (``crashed`` once it is stale).
"""

from __future__ import annotations

import contextlib
import functools
import os

from glassnet.errors import ConfigError, require
from glassnet.sklearn.sweep_progress import Progress

#: environment of the workers of a LocalCluster started for a sweep: one BLAS thread each
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: dask settings of a LocalCluster started for a sweep (it has no dashboard). Every
#: process of a cluster wakes up to watch itself: the workers' profiler samples the
#: running task's stack every 10 ms (taking the GIL from the fit), every server times its
#: event loop every 20 ms, the monitors read memory and CPU use several times a second.
#: On a machine whose cores all fit, that CPU is taken from the fits: ~15% of one core
#: for a scheduler and two workers with their nannies, idle (benchmarks/bench_sweep.py).
#: Without a dashboard no one reads the profiles or the loop timings, so they are off
#: or rare; memory is still watched (pause, spill, restart), once a second.
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}
START_TIMEOUT_S = 60  # a scheduler must answer by then
CLOSE_TIMEOUT_S = 20


def check_options(client, scheduler, n_workers, fits_per_task) -> None:
    """ConfigError for options that do not go together or are out of range."""
    for name, value in (("n_workers", n_workers), ("fits_per_task", fits_per_task)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ConfigError(f"{name} must be a positive int, got {value!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise ConfigError(f"scheduler must be an address string such as "
                          f"'tcp://10.0.0.5:8786', got {scheduler!r}")
    if n_workers is not None and (client is not None or scheduler is not None):
        raise ConfigError("n_workers sizes the LocalCluster a sweep starts for itself; with "
                          "client= or scheduler= the cluster's own workers are used")


@contextlib.contextmanager
def cluster_client(client=None, scheduler: str | None = None, n_workers: int | None = None):
    """The client to submit to, and whether the cluster behind it was started here."""
    distributed = require("distributed", "dask")
    if client is not None:
        yield client, False
        return
    if scheduler is not None:
        with distributed.Client(scheduler, timeout=START_TIMEOUT_S) as connected:
            yield connected, False
        return
    try:
        current = distributed.get_client()
    except ValueError:  # no current client
        current = None
    if current is not None:
        yield current, False
        return
    cluster = local_cluster(n_workers or os.cpu_count() or 1)
    try:
        with distributed.Client(cluster, timeout=START_TIMEOUT_S) as own:
            yield own, True
    finally:
        cluster.close(timeout=CLOSE_TIMEOUT_S)


def local_cluster(n_workers: int):
    """A LocalCluster of ``n_workers`` processes on 127.0.0.1, one thread and one BLAS
    thread each, no dashboard, the :data:`QUIET_CLUSTER` settings."""
    import dask
    import distributed

    # processes=True: the GIL would serialise the fits of a threaded worker. BLAS reads
    # its thread count when it loads, so it must be in the environment before the
    # worker process starts: the nanny's pre-spawn environment, not its ``env``.
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_ENV}
    # Set while the cluster starts: each nanny hands its worker the config of then.
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **QUIET_CLUSTER}):
        # No dashboard; the scheduler's health routes on a free loopback port (not
        # 8787, which another cluster may hold).
        return distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address=None, scheduler_kwargs={
                                            "dashboard_address": "127.0.0.1:0"})


def _run_batch(X, y, store_address, fits, blas_threads):
    """One task: fit ``fits`` in order in this worker (sweeps._fit_one records each)."""
    from glassnet.sklearn.sweeps import _fit_one

    with _blas_controller().limit(limits=blas_threads):
        return [_fit_one(X, y, store=store_address, **fit) for fit in fits]


@functools.cache
def _blas_controller():
    """This worker process's threadpoolctl controller: finding the BLAS libraries loaded
    (``threadpool_limits`` does it on every call) costs ~2.5 ms of CPU, limiting 16 us.
    Made once the fits' libraries are imported, so that it knows their BLAS too."""
    from threadpoolctl import ThreadpoolController

    import glassnet.sklearn  # noqa: F401 - scikit-learn and SciPy load their BLAS

    return ThreadpoolController()


def batches(fits: list[dict], fits_per_task: int) -> list[list[dict]]:
    return [fits[i:i + fits_per_task] for i in range(0, len(fits), fits_per_task)]


def default_fits_per_task(n_fits: int, n_workers: int) -> int:
    """Fits per task: about four tasks per worker keeps them busy to the end of the
    sweep, while a fit costs far more than a task's round trip (some milliseconds)."""
    return max(1, n_fits // (4 * max(1, n_workers)))


def run_fits(X, y, fits: list[dict], store_address: str, *, client=None, scheduler=None,
             n_workers=None, fits_per_task=None, blas_threads: int = 1,
             progress: Progress | None = None) -> list[dict]:
    """Every fit's result dict (sweeps._fit_one's), in the order they finished.

    ``fits``: the keyword arguments of ``_fit_one`` but the data and the store.
    On Ctrl-C the tasks are cancelled and a cluster of ours is closed before
    KeyboardInterrupt goes on up.
    """
    distributed = require("distributed", "dask")
    check_options(client, scheduler, n_workers, fits_per_task)
    results: list[dict] = []
    with cluster_client(client, scheduler, n_workers) as (dask_client, own):
        futures = []
        try:
            workers = len(dask_client.scheduler_info().get("workers", {})) or 1
            per_task = fits_per_task or default_fits_per_task(len(fits), workers)
            # Keys of this sweep's own (hash=False): a second sweep of the same data on
            # this client would scatter it under the keys the first one's futures are
            # being released by, and the scheduler may cancel its tasks for "lost
            # dependencies" (seen in tests/test_sweep_dask.py's resumed sweep).
            data = dask_client.scatter([X, y], broadcast=True, hash=False)
            task_fits = {}
            for batch in batches(fits, per_task):
                future = dask_client.submit(_run_batch, data[0], data[1], store_address,
                                            batch, blas_threads, pure=False)
                task_fits[future.key] = batch
                futures.append(future)
            for future in distributed.as_completed(futures):
                for result in _outcome(future, task_fits[future.key]):
                    results.append(result)
                    if progress is not None:
                        progress.update(result)
                future.release()
        except KeyboardInterrupt:
            dask_client.cancel(futures)
            if own:
                dask_client.close()  # then the cluster, as the context manager exits
            raise
        finally:
            if progress is not None:
                progress.close()
    return results


def _outcome(future, batch: list[dict]) -> list[dict]:
    """A task's results; the failures of its fits when the task itself failed."""
    try:
        return future.result()
    except Exception as exc:  # KilledWorker, a worker that could not open the store...
        error = f"{type(exc).__name__}: {exc}"
        return [{"trial_key": fit["trial_key"], "fold": fit["fold"], "trial": fit["trial"],
                 "run_id": None, "error": error} for fit in batch]


__all__ = ["WORKER_ENV", "batches", "check_options", "cluster_client",
           "default_fits_per_task", "local_cluster", "run_fits"]
