"""store.search_runs at scale: a config + metric filter over 10,000 runs on SQLite.

Run it with ``.venv/bin/python benchmarks/bench_search.py``; it prints the figures and
writes ``benchmarks/results/search.json``. ``run()`` returns the same dict.

Workload: a fresh store of 10,000 finished runs in 4 projects, made with
``gn.track.init / run.log / run.finish`` as a sweep leaves them: a config of 6 keys
(learning_rate log-uniform in [1e-4, 1e-1], batch_size, hidden, activation, optimizer,
seed), a summary of 6 final metrics (accuracy uniform in [0.5, 1)), and a tag on every
tenth run. Timed (median of ``repeats`` calls after one warm-up, each a whole
``search_runs`` call: parse, SQL, rows to records or a DataFrame):

* ``top50``: the filter ``config.learning_rate < 0.01 and summary.accuracy > 0.9``,
  ``order_by="summary.accuracy desc"``, ``limit=50``, as records (the target: < 100 ms);
* ``all_records`` / ``all_frame``: the same filter without a limit (about 1,300 runs),
  as records and as a pandas DataFrame;
* ``tagged``: ``tags contains 'baseline' and project = 'project-2'``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import glassnet as gn  # noqa: E402

N_RUNS = 10_000
TARGET_MS = 100.0
FILTER = "config.learning_rate < 0.01 and summary.accuracy > 0.9"


def fill(store, n: int = N_RUNS, sweep_of=None) -> None:
    """``n`` small finished runs, as a sweep leaves them (seeded: the same runs each
    time). ``sweep_of(i)``, when given, returns run ``i``'s group and the config keys it
    adds (``("sweep-007", {"trial": 1, "fold": 2})``, or ``(None, {})``)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        config = {"learning_rate": float(10 ** rng.uniform(-4, -1)),
                  "batch_size": int(2 ** rng.integers(4, 8)), "hidden": int(rng.integers(8, 128)),
                  "activation": ["relu", "tanh", "sigmoid"][i % 3],
                  "optimizer": ["adam", "sgd"][i % 2], "seed": i}
        group, extra = sweep_of(i) if sweep_of is not None else (None, {})
        config.update(extra)
        run = gn.track.init(project=f"project-{i % 4}", config=config, store=store,
                            group=group, tags=["baseline"] if i % 10 == 0 else [])
        accuracy = float(rng.uniform(0.5, 1.0))
        run.log({"loss": 1 - accuracy, "accuracy": accuracy, "epoch/loss": 1 - accuracy,
                 "epoch/val_loss": 1.1 * (1 - accuracy), "epoch/accuracy": accuracy,
                 "epoch/val_accuracy": accuracy - 0.02}, step=0)
        run.finish()
    store.flush()


def timed_ms(call, repeats: int) -> tuple[float, object]:
    result = call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times), result


def run(repeats: int = 15, n: int = N_RUNS) -> dict:
    """Measure; return the figures (also written to results/search.json)."""
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-search-") as folder:
        store = gn.track.open_store(folder)
        t = time.perf_counter()
        fill(store, n)
        fill_s = time.perf_counter() - t
        top_ms, top = timed_ms(lambda: store.search_runs(
            FILTER, "summary.accuracy desc", limit=50, as_records=True), repeats)
        records_ms, everything = timed_ms(lambda: store.search_runs(FILTER, as_records=True),
                                          repeats)
        try:
            import pandas  # noqa: F401
        except ImportError:
            frame_ms = None
        else:
            frame_ms, _ = timed_ms(lambda: store.search_runs(FILTER), repeats)
        tagged_ms, tagged = timed_ms(lambda: store.search_runs(
            "tags contains 'baseline' and project = 'project-2'", as_records=True), repeats)
        sql = store._read("EXPLAIN QUERY PLAN " + _sql(), _params())
        store.close()
    results = {
        "runs": n, "filter": FILTER,
        "top50": {"ms": top_ms, "found": len(top), "target_ms": TARGET_MS,
                  "within_target": top_ms < TARGET_MS},
        "all_records": {"ms": records_ms, "found": len(everything)},
        "all_frame": {"ms": frame_ms, "found": len(everything)},
        "tagged": {"ms": tagged_ms, "found": len(tagged)},
        "query_plan": [row[-1] for row in sql],
        "setup": {"fill_s": fill_s, "repeats": repeats},
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    out = HERE / "results" / "search.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def _sql() -> str:
    from glassnet.track.store.query import build_query

    return build_query(FILTER, "summary.accuracy desc", 50, now=time.time())[0]


def _params() -> list:
    from glassnet.track.store.query import build_query

    return build_query(FILTER, "summary.accuracy desc", 50, now=time.time())[1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_RUNS
    r = run(n=n)
    print(f"search_runs over {r['runs']:,} runs (SQLite), median of {r['setup']['repeats']}:")
    print(f"  {FILTER!r}")
    print(f"  top 50 by summary.accuracy desc, records  {r['top50']['ms']:7.1f} ms"
          f"  (target < {TARGET_MS:.0f} ms; {r['top50']['found']} runs)")
    print(f"  every match as records                   {r['all_records']['ms']:7.1f} ms"
          f"  ({r['all_records']['found']} runs)")
    if r["all_frame"]["ms"] is not None:
        print(f"  every match as a DataFrame               {r['all_frame']['ms']:7.1f} ms")
    print(f"  tags contains + project                  {r['tagged']['ms']:7.1f} ms"
          f"  ({r['tagged']['found']} runs)")
    print(f"  query plan: {'; '.join(r['query_plan'])}")
    print(f"  (store filled in {r['setup']['fill_s']:.0f} s)")


if __name__ == "__main__":
    main()
