"""The dashboard at scale: the runs list over 10,000 runs, the compare page at 20 runs, and a
100,000-step run served thinned.

Run it with ``.venv/bin/python benchmarks/bench_ui.py`` (or ``make bench``); it prints the
figures and writes ``benchmarks/results/ui.json``. ``run()`` returns the same dict, for
the main bench harness.

Workload: a fresh store with 10,000 finished runs in 4 projects (``gn.track.init / run.log
/ run.finish``, the environment read once: git's subprocess per run would make the fill
take minutes): 350 sweeps of 8 trials x 3 folds (8,400 runs, ``group=`` the sweep, config
``trial`` and ``fold`` as glassnet.sklearn's sweeps write them) and 1,600 runs of no sweep,
each with a config of 6 keys and a summary of 6 final metrics; plus 20 runs of a 64-32-10
network trained 10 epochs under ``run.watch(log_freq=2, snapshots="epoch")`` (the compare
page's runs) and one run trained for 100,000 optimizer steps under
``run.watch(log_freq=1000, snapshots="epoch")`` (8-8-1 network, Adam, batch 32): ``loss``
and ``accuracy`` per step, ``epoch/*`` every 100 steps, 1,001 snapshots. The run page's
other requests on that run are timed once each.

The runs list is timed as the page asks for it (``/api/runs``, 50 rows, six columns): the
first page of runs, newest first; the last page; a filtered page
(``config.learning_rate < 0.01 and summary.accuracy > 0.9``, by accuracy); the first page
grouped by sweep (the page's default view: one row per sweep with its best trial's mean
score, runs of no sweep as rows); grouped and sorted by that score; one sweep opened
(its 24 runs); and the column chooser's keys (``/api/run-columns``).
Server time is the app's own ``Server-Timing`` figure (request in, response body built),
read over FastAPI's in-process client, median of ``repeats`` requests after one warm-up.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))  # benchmarks.bench_search, run as a script too

import glassnet as gn  # noqa: E402
from glassnet.layers import Dense, Input  # noqa: E402

N_RUNS, N_STEPS = 10_000, 100_000
N_SWEEPS, TRIALS, FOLDS = 350, 8, 3
N_COMPARE = 20
COLUMNS = ("summary.accuracy,summary.epoch/val_loss,config.learning_rate,config.hidden,"
           "config.activation,tags")
FILTER = "config.learning_rate < 0.01 and summary.accuracy > 0.9"
LONG_ROWS = 3200  # 100 steps per epoch at batch 32: 1,000 epochs make 100,000 steps
BUDGET_MS = 300.0


def _client(store_path):
    from glassnet.ui.app import create_app

    with warnings.catch_warnings():  # starlette prefers httpx2 to httpx; either works
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(store_path))


def fill_runs(store) -> str:
    """10,000 small finished runs, 8,400 of them in 350 sweeps; return one sweep's id."""
    from unittest import mock

    from benchmarks.bench_search import fill
    from glassnet.track import env

    swept = N_SWEEPS * TRIALS * FOLDS

    def sweep_of(i: int):
        if i >= swept:
            return None, {}
        sweep, rest = divmod(i, TRIALS * FOLDS)
        return f"sweep-{sweep:03d}", {"trial": rest // FOLDS, "fold": rest % FOLDS}

    once = env.environment()
    with mock.patch("glassnet.track.run.environment", lambda: dict(once)):
        fill(store, N_RUNS, sweep_of)
    return "sweep-007"


def fill_compare(store) -> list[str]:
    """20 runs of a 64-32-10 network, 10 epochs each, watched; return their ids."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(512, 64)).astype(np.float32)
    y = (x[:, :10].argmax(axis=1)).astype(np.int64)
    ids = []
    for i in range(N_COMPARE):
        rate = [0.003, 0.01, 0.03, 0.1][i % 4]
        act = ["relu", "tanh"][i // 10]
        model = gn.Sequential([Input(shape=(64,)), Dense(32, activation=act),
                               Dense(10, activation="softmax")])
        model.compile(optimizer=gn.optimizers.Adam(learning_rate=rate),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        run = gn.track.init(project="compare", name=f"compare-{i:02d}", store=store,
                            group="compare-sweep",
                            config={"learning_rate": rate, "activation": act, "seed": i})
        model.fit(x, y, epochs=10, batch_size=32, verbose=0, validation_split=0.2,
                  callbacks=[run.watch(log_freq=2, snapshots="epoch")])
        run.log({"test/accuracy": float(model.evaluate(x, y, verbose=0)[1])})
        run.finish()
        ids.append(run.id)
    store.flush()
    return ids


def fill_long(store) -> str:
    """One run trained for 100,000 optimizer steps under run.watch; return its id."""
    rng = np.random.default_rng(0)
    # the long run is trained for real: 100,000 optimizer steps recorded by run.watch
    x = rng.normal(size=(LONG_ROWS, 8)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    model = gn.Sequential([Input(shape=(8,)), Dense(8, activation="relu"),
                           Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    long = gn.track.init(project="long", name="hundred-thousand-steps", store=store)
    model.fit(x, y, epochs=N_STEPS * 32 // LONG_ROWS, batch_size=32, verbose=0,
              callbacks=[long.watch(log_freq=1000, snapshots="epoch")])
    long.finish()
    store.flush()
    return long.id


def server_ms(client, url: str, repeats: int) -> tuple[float, dict, int]:
    """Median Server-Timing of ``url`` over ``repeats`` requests; also the last body and size."""
    client.get(url)
    times, response = [], None
    for _ in range(repeats):
        response = client.get(url)
        assert response.status_code == 200, response.text
        times.append(float(response.headers["server-timing"].split("dur=")[1]))
    is_json = response.headers["content-type"].startswith("application/json")
    return statistics.median(times), response.json() if is_json else None, len(response.content)


def runs_list_figures(client, sweep: str, repeats: int) -> dict:
    """The runs list's requests over 10,000 runs (see the module's docstring)."""
    from urllib.parse import urlencode

    def url(**params):
        return "/api/runs?" + urlencode({"columns": COLUMNS, "limit": 50, **params})

    out = {}
    asks = {
        "first_page": url(),
        "last_page": url(offset=N_RUNS - 50),
        "filtered_page": url(filter=FILTER, order_by="summary.accuracy desc"),
        "grouped_page": url(group="sweep"),
        "grouped_by_score": url(group="sweep", order_by="summary.accuracy desc"),
        "sweep_opened": url(sweep=sweep, limit=500, order_by="config.trial, config.fold"),
        "column_keys": "/api/run-columns",
        "html_page": "/",
    }
    for name, ask in asks.items():
        ms, body, size = server_ms(client, ask, repeats)
        out[name] = {"server_ms": ms, "bytes": size}
        if body and "rows" in body:
            out[name].update(rows=len(body["rows"]), total=body["total"])
    return out


def run(repeats: int = 15) -> dict:
    """Measure everything; return the figures (also written to results/ui.json)."""
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-ui-") as folder:
        store = gn.track.open_store(folder)
        t = time.perf_counter()
        sweep = fill_runs(store)
        compare_ids = fill_compare(store)
        long_id = fill_long(store)
        fill_s = time.perf_counter() - t
        t = time.perf_counter()
        records = store.runs()
        store_runs_ms = (time.perf_counter() - t) * 1e3
        with _client(folder) as client:
            runs_list = runs_list_figures(client, sweep, repeats)
            runs = "&".join(f"run={r}" for r in compare_ids)
            compare_ms, compared, compare_bytes = server_ms(
                client, f"/api/compare-runs?{runs}", repeats)
            compare_page_ms, _, _ = server_ms(client, f"/compare?{runs}", repeats)
            diff_ms, _, _ = server_ms(
                client, f"/api/weight-diff?a={compare_ids[0]}&b={compare_ids[-1]}", repeats)
            metric_ms, metrics, metric_bytes = server_ms(
                client, f"/api/runs/{long_id}/metrics", repeats)
            detail_ms, _, _ = server_ms(client, f"/api/runs/{long_id}", repeats)
            # everything else the run page asks for, once each (as a browser would)
            page_parts = {}
            for part in ("params", "layers", "network", "tables", "diagnostics"):
                page_parts[part], _, _ = server_ms(client, f"/api/runs/{long_id}/{part}", 3)
            page_parts["histograms"], _, _ = server_ms(
                client, f"/api/runs/{long_id}/histograms?path=dense/kernel", 3)
        store.close()
    loss = metrics["loss"]
    first = runs_list["first_page"]["server_ms"]
    results = {
        "runs_list": {
            "runs": N_RUNS, "sweeps": N_SWEEPS, "server_ms": first, "pages": runs_list,
            "store_runs_ms": store_runs_ms, "budget_ms": BUDGET_MS,
            "within_budget": max(v["server_ms"] for k, v in runs_list.items()
                                 if k != "html_page") < BUDGET_MS,
        },
        "compare": {
            "runs": len(compared["runs"]), "server_ms": compare_ms, "bytes": compare_bytes,
            "html_page_ms": compare_page_ms, "weight_diff_ms": diff_ms,
        },
        "long_run": {
            "recorded_steps": loss["recorded"], "served_points": len(loss["steps"]),
            "first_step": loss["steps"][0], "last_step": loss["steps"][-1],
            "metric_keys": len(metrics), "metrics_server_ms": metric_ms,
            "metrics_bytes": metric_bytes,
            "run_detail_ms": detail_ms,
            "run_page_parts_ms": page_parts,
        },
        "setup": {"fill_s": fill_s, "repeats": repeats, "store_rows": len(records)},
        "machine": {"python": platform.python_version(), "numpy": np.__version__,
                    "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]},
    }
    out = HERE / "results" / "ui.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main() -> None:
    r = run()
    rl, cmp, lr = r["runs_list"], r["compare"], r["long_run"]
    print(f"runs list over {rl['runs']:,} runs ({rl['sweeps']} sweeps), 50 rows a page, "
          f"server time (budget {BUDGET_MS:.0f} ms):")
    for name, page in rl["pages"].items():
        rows = f"  {page['rows']} rows of {page['total']:,}" if "rows" in page else ""
        print(f"  {name:<18} {page['server_ms']:7.1f} ms  {page['bytes'] / 1e3:6.1f} kB{rows}")
    print(f"  (store.runs() of every run, for scale: {rl['store_runs_ms']:.0f} ms)")
    print(f"compare page, {cmp['runs']} runs: /api/compare-runs {cmp['server_ms']:.1f} ms "
          f"({cmp['bytes'] / 1e3:.0f} kB), the HTML {cmp['html_page_ms']:.1f} ms, "
          f"a weight diff {cmp['weight_diff_ms']:.1f} ms")
    print(f"long run: {lr['recorded_steps']:,} steps served as {lr['served_points']:,} points "
          f"(steps {lr['first_step']}..{lr['last_step']}); all {lr['metric_keys']} metrics in "
          f"{lr['metrics_server_ms']:.1f} ms server time, {lr['metrics_bytes'] / 1e3:.0f} kB")
    parts = ", ".join(f"{k} {v:.0f}" for k, v in lr["run_page_parts_ms"].items())
    print(f"long run page, other requests (ms): {parts}")
    print(f"wrote {HERE / 'results' / 'ui.json'}")


if __name__ == "__main__":
    main()
