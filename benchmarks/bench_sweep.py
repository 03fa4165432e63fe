"""A sweep on dask.distributed: parallel efficiency on 1 vs 2 workers, and the store per fit.

Run it with ``.venv/bin/python -m benchmarks.bench_sweep`` (``make bench`` runs it too,
in a subprocess of its own); it prints the figures and writes
``benchmarks/results/sweep.json``. ``--quick`` is a smoke run (fewer epochs, one round).

**Parallel efficiency.** The sweep: digits (1,797 x 64, standardized), 8
configurations (hidden [64, 32] / [128], learning rate 1e-3 / 3e-3, activation relu /
tanh) x 3 folds = 24 fits of ``EPOCHS`` epochs (Adam, batch 32), recorded in a
PostgreSQL store on a throwaway server (tests/pg_server.py), as a team's cluster would
(SQLite where no server can be started; ``efficiency.store`` says which). Two
LocalClusters, of 1 and of 2 worker processes (one thread each, BLAS on one thread),
are started once and warmed up by one whole sweep each; then the timed sweeps
alternate 1, 2, 2, 1, 1, 2... (``rounds`` each), so a drift of a shared machine hits
both alike. A sweep is timed from the call to ``gn.sweep`` to its result: scattering
the data, every task, every run written by the workers. Efficiency = (T1 / T2) / 2,
medians. Cluster start-up is not in it (a few seconds, once per sweep session; stated
apart). ``busy`` is the share of the workers' time inside fits (each run's
``created_at`` to ``finished_at``, summed, over workers x wall time): what is not busy
is the tasks' round trips and the client.

**The store per fit.** In this process, BLAS on one thread, the same 24 fits twice,
interleaved fit by fit: bare (``GlassClassifier.fit`` untracked) and as a sweep's
worker does it (``track.init``, the fit logging every epoch into the run,
``run.log`` of the scores, ``run.finish``). Reported per fit: ``init`` (creating the
run), ``finish`` (flushing its rows and closing it), ``logging`` (the tracked fit minus
the bare one, which fits and scores the same fold: the epochs' rows handed to the
writer thread) and their sum against the bare fit, medians of the fit-by-fit
differences; and ``open``: opening the store in a fresh process (once per worker). On
SQLite, and on PostgreSQL when a server can be started. The same in CPU time
(``*_cpu_ms``: this process, all its threads), which a busy machine disturbs less.

**Snapshots per fit.** A sweep fit snapshots every Variable at each epoch: 41 blobs of
26-38 KiB (the two networks of the sweep). Written as the store writes them
(``log_snapshot`` then a flush: in the database, table ``inline_blobs``) and as it
wrote them before (a file each, ``blobs.put_arrays``, then the rows), interleaved,
new weights each time: wall and CPU time of this process, and the PostgreSQL server's
CPU time, per fit (medians).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"  # before NumPy loads its BLAS: this process fits on one thread

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

PARAMS = {"hidden": [[64, 32], [128]], "learning_rate": [1e-3, 3e-3],
          "activation": ["relu", "tanh"]}
EPOCHS = 40
CV = 3
TARGET_EFFICIENCY = 0.85


def _data():
    import glassnet as gn

    return gn.datasets.load_digits()


def _cluster(n_workers: int):
    import distributed

    from glassnet.sklearn.sweep_dask import local_cluster

    cluster = local_cluster(n_workers)
    return cluster, distributed.Client(cluster)


def _busy_share(store, sweep_id: str, workers: int, wall: float) -> float:
    runs = store.runs(group_id=sweep_id)
    return sum(r["finished_at"] - r["created_at"] for r in runs) / (workers * wall)


def efficiency(rounds: int, epochs: int, address: str) -> dict:
    import glassnet as gn

    X, y = _data()
    base = {"epochs": epochs, "batch_size": 32}
    out: dict = {"fits": len(PARAMS["hidden"]) * len(PARAMS["learning_rate"])
                 * len(PARAMS["activation"]) * CV, "epochs": epochs, "rounds": rounds}
    store = gn.track.open_store(address)
    clusters = {}
    for workers in (1, 2):
        started = time.perf_counter()
        clusters[workers] = _cluster(workers)
        out[f"start_{workers}w_s"] = time.perf_counter() - started
    times: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}
    scores = {}
    try:
        order = [1, 2] + [w for i in range(rounds) for w in ((2, 1) if i % 2 else (1, 2))]
        for i, workers in enumerate(order):
            warmup = i < 2
            started = time.perf_counter()
            result = gn.sweep(X, y, PARAMS, base=base, cv=CV, backend="dask",
                              client=clusters[workers][1], store=store, seed=0,
                              standardize=True, project=f"bench-{workers}w")
            wall = time.perf_counter() - started
            scores.setdefault(workers, [t["scores"] for t in result.trials])
            if not warmup:
                times[workers].append(wall)
                busy[workers].append(_busy_share(store, result.sweep_id, workers, wall))
    finally:
        for cluster, client in clusters.values():
            client.close()
            cluster.close(timeout=30)
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    out.update({
        "t_1w_s": t1, "t_2w_s": t2, "times_1w_s": times[1], "times_2w_s": times[2],
        "speedup": t1 / t2, "efficiency": t1 / t2 / 2, "target": TARGET_EFFICIENCY,
        "busy_1w": statistics.median(busy[1]), "busy_2w": statistics.median(busy[2]),
        "same_scores": bool(np.allclose(scores[1], scores[2], rtol=1e-9)),
    })
    return out


# -- the store per fit -----------------------------------------------------------------
def _fits(X, y):
    from sklearn.model_selection import ParameterGrid, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    folds = list(StratifiedKFold(CV, shuffle=True, random_state=0).split(X, y))
    for params in ParameterGrid(PARAMS):
        for train, test in folds:
            scaler = StandardScaler().fit(X[train])
            yield (params, scaler.transform(X[train]).astype(np.float32), y[train],
                   scaler.transform(X[test]).astype(np.float32), y[test])


def store_cost(address: str, epochs: int) -> dict:
    import glassnet as gn
    from glassnet.sklearn import GlassClassifier

    X, y = _data()
    base = {"epochs": epochs, "batch_size": 32}
    gn.track.open_store(address)  # opened once, as a worker does
    bare, tracked, init, finish, cpu = [], [], [], [], []
    for params, x_train, y_train, x_test, y_test in _fits(X, y):
        # Both fit and score the fold: only the store differs between them.
        start, start_cpu = time.perf_counter(), time.process_time()
        estimator = GlassClassifier(**base, **params, random_state=0)
        estimator.fit(x_train, y_train, validation_data=(x_test, y_test))
        float(estimator.score(x_test, y_test))
        bare.append(time.perf_counter() - start)
        bare_cpu = time.process_time() - start_cpu

        start, start_cpu = time.perf_counter(), time.process_time()
        run = gn.track.init(project="store-cost", config={**base, **params}, store=address,
                            tags=["sweep:bench"], group="bench")
        opened = time.perf_counter()
        estimator = GlassClassifier(**base, **params, random_state=0, track=run)
        estimator.fit(x_train, y_train, validation_data=(x_test, y_test))
        run.log({"cv_score": float(estimator.score(x_test, y_test))})
        fitted = time.perf_counter()
        run.finish()
        done = time.perf_counter()
        cpu.append((time.process_time() - start_cpu, bare_cpu))
        tracked.append(fitted - opened)
        init.append(opened - start)
        finish.append(done - fitted)
    med = statistics.median
    # Fit by fit (the pair ran back to back), so a drift of the machine cancels out.
    logging = med([t - b for t, b in zip(tracked, bare)])
    total = med([i + t + f - b for i, t, f, b in zip(init, tracked, finish, bare)])
    return {"fits": len(bare), "bare_fit_ms": med(bare) * 1e3, "init_ms": med(init) * 1e3,
            "logging_ms": logging * 1e3, "finish_ms": med(finish) * 1e3,
            "store_ms": total * 1e3, "store_share": total / med(bare),
            "bare_fit_cpu_ms": med([b for _, b in cpu]) * 1e3,
            "store_cpu_ms": med([t - b for t, b in cpu]) * 1e3,
            "open_ms": _open_ms(address)}


def _weights(rng, hidden: list[int]) -> dict:
    sizes = [64, *hidden, 10]  # digits' 64 inputs, 10 classes
    out = {}
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        out[f"dense_{i}/kernel"] = rng.normal(size=(n_in, n_out)).astype(np.float32)
        out[f"dense_{i}/bias"] = rng.normal(size=n_out).astype(np.float32)
    return out


def snapshot_cost(address: str, server_pid: int | None, rounds: int = 7) -> dict:
    """A fit's snapshots (``EPOCHS + 1``) in the database (now) vs as files (before)."""
    import glassnet as gn

    store = gn.track.open_store(address)
    rng = np.random.default_rng(0)
    out: dict = {"snapshots": EPOCHS + 1}
    times: dict[str, list] = {"inline": [], "files": []}
    for i in range(rounds + 1):  # the first round warms up
        for mode in ("inline", "files") if i % 2 else ("files", "inline"):
            hidden = PARAMS["hidden"][i % 2]
            snaps = [_weights(rng, hidden) for _ in range(EPOCHS + 1)]
            run = gn.track.init(project="snapshot-cost", store=store)
            store.flush()
            server, start, start_cpu = _server_cpu(server_pid), time.perf_counter(), \
                time.thread_time()
            if mode == "inline":  # what a watch does: the writer encodes and writes them
                for step, arrays in enumerate(snaps):
                    store.log_snapshot(run.id, step, "epoch", arrays)
                store.flush()
            else:  # the store before inline_blobs: a file per blob, then the rows
                rows = [(run.id, step, "epoch", store.blobs.put_arrays(arrays), time.time())
                        for step, arrays in enumerate(snaps)]
                with store.backend.transaction() as c:
                    store.backend.write_rows(c, "snapshots", rows, store._inserts["snapshots"])
            if i:
                times[mode].append((time.perf_counter() - start, time.thread_time() - start_cpu,
                                    _server_cpu(server_pid) - server))
            run.finish()
    for mode, rows in times.items():
        out[f"{mode}_ms"] = statistics.median(r[0] for r in rows) * 1e3
        out[f"{mode}_cpu_ms"] = statistics.median(r[1] for r in rows) * 1e3
        if server_pid is not None:  # ticks of 10 ms: the mean, not the median
            out[f"{mode}_server_cpu_ms"] = statistics.mean(r[2] for r in rows) * 1e3
    return out


def _server_cpu(pid: int | None) -> float:
    """CPU seconds of the PostgreSQL server ``pid`` and its backends (Linux /proc)."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _open_ms(address: str) -> float:
    """Opening the store in a fresh process (after its imports), as a worker does once."""
    code = ("import time, glassnet as gn; t = time.perf_counter(); "
            f"gn.track.open_store({address!r}); print((time.perf_counter() - t) * 1e3)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    return float(out.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _postgres(folder: str):
    """``(url, server pid)``: a throwaway PostgreSQL server's database URL (blobs in
    ``folder``), or ``(a reason it could not be had, None)``."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import pg_server
    except Exception as error:  # noqa: BLE001 - report, don't fail the bench
        yield f"tests/pg_server.py: {type(error).__name__}: {error}", None
        return
    if pg_server.bin_dir() is None:
        yield pg_server.HOW, None
        return
    server = pg_server.start()
    try:
        database = pg_server.create_database(server.url, "bench_sweep")
        pid = int((server.data / "postmaster.pid").read_text().split()[0])
        yield f"{database}?{urlencode({'blobs': folder})}", pid
    finally:
        server.stop()


def run(rounds: int = 3, epochs: int = EPOCHS) -> dict:
    """Measure; return the figures (also written to results/sweep.json).

    The sweep writes into PostgreSQL where a server can be started (tests/pg_server.py),
    as a team's cluster would; else into SQLite (``efficiency.store`` says which)."""
    report = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                          "load_before": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-sweep-") as folder, \
            _postgres(os.path.join(folder, "pg-blobs")) as (postgres, server_pid):
        sqlite = os.path.join(folder, "sqlite")
        on_postgres = postgres.startswith("postgresql://")
        report["efficiency"] = efficiency(rounds, epochs,
                                          postgres if on_postgres else sqlite)
        report["efficiency"]["store"] = "postgresql" if on_postgres else "sqlite"
        report["store_sqlite"] = store_cost(os.path.join(folder, "sqlite-cost"), epochs)
        report["store_postgresql"] = (store_cost(postgres, epochs) if on_postgres
                                      else {"skipped": postgres})
        snap_rounds = 2 * rounds + 1
        report["snapshots_sqlite"] = snapshot_cost(os.path.join(folder, "sqlite-snap"), None,
                                                   snap_rounds)
        report["snapshots_postgresql"] = (snapshot_cost(postgres, server_pid, snap_rounds)
                                          if on_postgres else {"skipped": postgres})
        from glassnet.track.store import opening

        for opened in list(opening._stores.values()):  # before the server stops
            opened.close()
    report["machine"]["load_after"] = os.getloadavg()
    return report


def describe(report: dict) -> list[str]:
    e = report["efficiency"]
    lines = [f"sweep of {e['fits']} fits ({e['epochs']} epochs each) on dask, runs into "
             f"{e.get('store', 'sqlite')}: "
             f"1 worker {e['t_1w_s']:.2f} s, 2 workers {e['t_2w_s']:.2f} s (medians of "
             f"{e['rounds']}); speed-up {e['speedup']:.2f}x, efficiency "
             f"{e['efficiency']:.2f} (target {e['target']:.2f}); workers busy "
             f"{e['busy_1w']:.0%} / {e['busy_2w']:.0%}; same scores: {e['same_scores']}",
             f"  LocalCluster start-up: {e['start_1w_s']:.1f} s (1 worker), "
             f"{e['start_2w_s']:.1f} s (2); load average before/after "
             f"{report['machine']['load_before'][0]:.1f} / "
             f"{report['machine']['load_after'][0]:.1f} on {report['machine']['cores']} cores"]
    for name in ("sqlite", "postgresql"):
        s = report[f"store_{name}"]
        if "skipped" in s:
            lines.append(f"store per fit, {name}: skipped ({s['skipped']})")
            continue
        lines.append(f"store per fit, {name}: {s['store_ms']:.1f} ms = init "
                     f"{s['init_ms']:.1f} + epoch logging {s['logging_ms']:.1f} + finish "
                     f"{s['finish_ms']:.1f}, {s['store_share']:.1%} of a {s['bare_fit_ms']:.0f}"
                     f" ms fit; opening the store {s['open_ms']:.0f} ms once per process; "
                     f"CPU {s['store_cpu_ms']:.1f} ms on a {s['bare_fit_cpu_ms']:.0f} ms fit")
    for name in ("sqlite", "postgresql"):
        s = report[f"snapshots_{name}"]
        if "skipped" in s:
            continue
        server = {mode: (f", server CPU {s[f'{mode}_server_cpu_ms']:.1f}"
                         if f"{mode}_server_cpu_ms" in s else "") for mode in ("inline", "files")}
        lines.append(f"{s['snapshots']} snapshots per fit, {name}: in the database "
                     f"{s['inline_ms']:.1f} ms (CPU {s['inline_cpu_ms']:.1f}{server['inline']})"
                     f", as files {s['files_ms']:.1f} ms (CPU {s['files_cpu_ms']:.1f}"
                     f"{server['files']})")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round, 5 epochs")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    report = run(1, 5) if args.quick else run(args.rounds)
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(describe(report)))
    if not args.quick:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "sweep.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
