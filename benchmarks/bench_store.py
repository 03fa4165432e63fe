"""The store's two backends side by side: rows per second, and search over 10,000 runs.

Run it with ``.venv/bin/python benchmarks/bench_store.py [--quick]`` (``make bench``
runs it too); it prints the figures and writes ``benchmarks/results/store.json``.
``run()`` returns the same dict.

PostgreSQL: the server ``$GLASSNET_BENCH_POSTGRES`` names (a URL whose user may
CREATE DATABASE), else a throwaway one started as the tests do (tests/pg_server.py:
Debian's binaries, a temp folder, 127.0.0.1, fsync off -- as in the tests, so the
figures are the store's code and the protocol, not this disk's fsync). Without either,
the PostgreSQL figures are skipped, saying why.

* ``writers``: 1 and 4 writer processes, each logging ``STEPS`` steps of 5 metrics
  (``run.log``, the writer thread flushing 4 times a second as in training) and then
  ``run.finish()``. Rows per second = all rows / (last finish - first start), timed in
  the children from a shared "go" file (interpreter start-up and imports excluded).
  SQLite and PostgreSQL rounds interleave (S P, P S, ...); the median of ``ROUNDS``.
* ``search``: 10,000 finished runs as a sweep leaves them (benchmarks/bench_search.py's
  fill, made once in SQLite with the real API and copied row for row into PostgreSQL),
  then the same ``search_runs`` calls on both, interleaved: the config + metric filter,
  top 50 by accuracy (target < 200 ms on PostgreSQL, < 100 ms on SQLite).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

STEPS = 20_000
KEYS = 5
ROUNDS = 3
SEARCH_TARGET_MS = {"sqlite": 100.0, "postgresql": 200.0}

_WRITER = textwrap.dedent("""
    import json, os, sys, time
    import glassnet.track as t
    store = t.open_store(sys.argv[1])
    go, steps = sys.argv[2], int(sys.argv[3])
    while not os.path.exists(go):
        time.sleep(0.001)
    start = time.time()
    run = t.init("bench", store=store)
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1), "acc": 0.5, "lr": 1e-3, "grad": 2.0, "val": -1.0},
                step=step)
    run.finish()
    print(json.dumps({"start": start, "end": time.time(), "rows": steps * 5}))
""")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH"))
                                        if p)
    env.pop("GLASSNET_STORE", None)
    return env


def writers_round(location: str, n_writers: int, steps: int, folder: Path) -> float:
    """Rows per second of ``n_writers`` processes logging into ``location`` at once."""
    go = folder / f"go-{time.monotonic_ns()}"
    children = [subprocess.Popen([sys.executable, "-c", _WRITER, location, str(go), str(steps)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=_env()) for _ in range(n_writers)]
    time.sleep(3.0)  # let them import and open the store
    go.touch()
    outs = [c.communicate(timeout=600) for c in children]
    for child, (_, err) in zip(children, outs, strict=True):
        if child.returncode:
            raise RuntimeError(f"a writer failed: {err[-2000:]}")
    stamps = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    rows = sum(s["rows"] for s in stamps)
    return rows / (max(s["end"] for s in stamps) - min(s["start"] for s in stamps))


class Postgres:
    """A server to create databases on: $GLASSNET_BENCH_POSTGRES, or a throwaway one."""

    def __init__(self) -> None:
        self.server = None
        self.url = os.environ.get("GLASSNET_BENCH_POSTGRES")
        if self.url is None:
            sys.path.insert(0, str(ROOT / "tests"))
            import pg_server

            if pg_server.bin_dir() is None:
                raise RuntimeError(pg_server.HOW)
            self.server = pg_server.start()
            self.url = self.server.url

    def database(self, name: str, blobs: Path) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url.rsplit("/", 1)[0].split("?")[0] + f"/{name}?blobs={blobs}"

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def writers(pg: Postgres | None, folder: Path, steps: int, rounds: int, log) -> dict:
    out: dict = {}
    for n in (1, 4):
        figures: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
        for r in range(rounds):
            order = ["sqlite", "postgresql"] if r % 2 == 0 else ["postgresql", "sqlite"]
            for backend in order:
                if backend == "postgresql" and pg is None:
                    continue
                if backend == "sqlite":
                    location = str(folder / f"w{n}-{r}")
                else:
                    location = pg.database(f"bench_w{n}_{r}", folder / f"blobs-w{n}-{r}")
                rate = writers_round(location, n, steps, folder)
                figures[backend].append(rate)
                log(f"    {n} writer(s), {backend}: {rate:,.0f} rows/s")
        row = {b: {"rows_per_s": statistics.median(v), "rounds": v}
               for b, v in figures.items() if v}
        if "postgresql" in row:
            row["postgresql_over_sqlite"] = (row["postgresql"]["rows_per_s"]
                                             / row["sqlite"]["rows_per_s"])
        out[f"{n}_writers"] = row
    return out


def copy_runs(source, target) -> None:
    """Every run and metric row of ``source`` into ``target`` (its JSON made finite)."""
    from glassnet.track.store.records import RUN_FIELDS

    columns = (*RUN_FIELDS, "seq")
    rows = source._read(f"SELECT {', '.join(columns)} FROM runs")
    json_at = [columns.index(c) for c in ("config", "summary", "tags", "env")]
    fixed = []
    for row in rows:
        row = list(row)
        for i in json_at:
            row[i] = target.backend.json_text(json.loads(row[i]))
        fixed.append(tuple(row))
    marks = ", ".join("?" * len(columns))
    metrics = source._read("SELECT run_id, key, step, value, time FROM metrics")
    with target.backend.transaction() as c:
        c.executemany(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks})", fixed)
        target.backend.write_rows(c, "metrics", metrics, target._inserts["metrics"])


def search(pg: Postgres | None, folder: Path, n_runs: int, repeats: int, log) -> dict:
    import bench_search

    import glassnet as gn

    stores = {"sqlite": gn.track.open_store(folder / "search")}
    t = time.perf_counter()
    bench_search.fill(stores["sqlite"], n_runs)
    log(f"    {n_runs:,} runs made in {time.perf_counter() - t:.0f} s")
    if pg is not None:
        stores["postgresql"] = gn.track.open_store(pg.database("bench_search",
                                                               folder / "blobs-search"))
        copy_runs(stores["sqlite"], stores["postgresql"])
        with stores["postgresql"].backend.transaction() as c:
            c.execute("ANALYZE runs")
    queries = {
        "top50": lambda s: s.search_runs(bench_search.FILTER, "summary.accuracy desc",
                                         limit=50, as_records=True),
        "all_records": lambda s: s.search_runs(bench_search.FILTER, as_records=True),
        "tagged": lambda s: s.search_runs("tags contains 'baseline' and project = 'project-2'",
                                          as_records=True),
    }
    out: dict = {"runs": n_runs, "filter": bench_search.FILTER, "repeats": repeats}
    for name, call in queries.items():
        times: dict[str, list[float]] = {b: [] for b in stores}
        answers = {b: [r["id"] for r in call(s)] for b, s in stores.items()}  # warm-up
        if len({tuple(ids) for ids in answers.values()}) > 1:
            raise AssertionError(f"{name}: the backends found different runs")
        found = {b: len(ids) for b, ids in answers.items()}
        for r in range(repeats):
            for backend in (list(stores) if r % 2 == 0 else list(stores)[::-1]):
                t = time.perf_counter()
                call(stores[backend])
                times[backend].append((time.perf_counter() - t) * 1e3)
        out[name] = {b: {"ms": statistics.median(v), "found": found[b]} for b, v in times.items()}
        if name == "top50":
            for b in stores:
                out[name][b]["target_ms"] = SEARCH_TARGET_MS[b]
                out[name][b]["within_target"] = out[name][b]["ms"] < SEARCH_TARGET_MS[b]
    for store in stores.values():
        store.close()
    return out


def run(quick: bool = False, log=None) -> dict:
    """Measure; return the figures (also written to results/store.json unless quick)."""
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    steps, rounds = (2_000, 1) if quick else (STEPS, ROUNDS)
    n_runs, repeats = (1_000, 3) if quick else (10_000, 15)
    sys.path.insert(0, str(HERE))
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                     "steps_per_writer": steps, "keys": KEYS}
    try:
        pg = Postgres()
    except Exception as exc:  # no server binaries, or psycopg missing
        pg = None
        results["postgresql_skipped"] = f"{type(exc).__name__}: {exc}"
        log(f"  store: PostgreSQL skipped ({exc})")
    try:
        with tempfile.TemporaryDirectory(prefix="glassnet-bench-store-") as tmp:
            log("  store: rows per second, 1 and 4 writer processes")
            results["writers"] = writers(pg, Path(tmp), steps, rounds, log)
            log(f"  store: search_runs over {n_runs:,} runs")
            results["search"] = search(pg, Path(tmp), n_runs, repeats, log)
    finally:
        if pg is not None:
            pg.close()
    if not quick:
        out = HERE / "results" / "store.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def summary_lines(r: dict) -> list[str]:
    lines = []
    for n in ("1_writers", "4_writers"):
        row = r["writers"][n]
        text = f"{n[0]} writer(s): SQLite {row['sqlite']['rows_per_s']:,.0f} rows/s"
        if "postgresql" in row:
            text += (f", PostgreSQL {row['postgresql']['rows_per_s']:,.0f} rows/s "
                     f"({row['postgresql_over_sqlite']:.2f}x)")
        lines.append(text)
    for name, row in ((k, v) for k, v in r["search"].items() if isinstance(v, dict)):
        parts = [f"{b} {v['ms']:.1f} ms ({v['found']} runs)" for b, v in row.items()]
        lines.append(f"search {name} over {r['search']['runs']:,} runs: " + ", ".join(parts))
    return lines


def main() -> None:
    r = run(quick="--quick" in sys.argv)
    for line in summary_lines(r):
        print(line)


if __name__ == "__main__":
    main()
