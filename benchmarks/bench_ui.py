"""The dashboard at scale: the runs list with 1,000 runs, and a 100,000-step run served thinned.

Run it with ``.venv/bin/python benchmarks/bench_ui.py`` (or ``make bench``); it prints the
figures and writes ``benchmarks/results/ui.json``. ``run()`` returns the same dict, for
the main bench harness.

Workload: a fresh store with 1,000 finished runs in 4 projects, each with a config of 6
keys and a summary of 6 final metrics (as ``run.log`` leaves them), plus one run trained
for 100,000 optimizer steps under ``run.watch(log_freq=1000, snapshots="epoch")`` (8-8-1
network, Adam, batch 32): ``loss`` and ``accuracy`` per step, ``epoch/*`` every 100 steps,
1,001 snapshots. The run page's other requests on that run are timed once each.
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

import glassnet as gn  # noqa: E402
from glassnet.layers import Dense, Input  # noqa: E402

N_RUNS, N_STEPS = 1000, 100_000
LONG_ROWS = 3200  # 100 steps per epoch at batch 32: 1,000 epochs make 100,000 steps
BUDGET_MS = 300.0


def _client(store_path):
    from glassnet.ui.app import create_app

    with warnings.catch_warnings():  # starlette prefers httpx2 to httpx; either works
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(create_app(store_path))


def fill(store) -> str:
    """1,000 small finished runs and one 100,000-step run; return the long run's id."""
    rng = np.random.default_rng(0)
    for i in range(N_RUNS):
        config = {"learning_rate": float(10 ** rng.uniform(-4, -1)),
                  "batch_size": int(2 ** rng.integers(4, 8)), "hidden": int(rng.integers(8, 128)),
                  "activation": ["relu", "tanh", "sigmoid"][i % 3],
                  "optimizer": ["adam", "sgd"][i % 2], "seed": i}
        run = gn.track.init(project=f"project-{i % 4}", config=config, store=store)
        loss = float(rng.uniform(0.05, 2))
        run.log({"loss": loss, "accuracy": 1 - loss / 2, "epoch/loss": loss,
                 "epoch/val_loss": loss * 1.1, "epoch/accuracy": 1 - loss / 2,
                 "epoch/val_accuracy": 1 - loss / 1.8}, step=0)
        run.finish()
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


def run(repeats: int = 15) -> dict:
    """Measure everything; return the figures (also written to results/ui.json)."""
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-ui-") as folder:
        store = gn.track.open_store(folder)
        t = time.perf_counter()
        long_id = fill(store)
        fill_s = time.perf_counter() - t
        t = time.perf_counter()
        records = store.runs()
        store_runs_ms = (time.perf_counter() - t) * 1e3
        with _client(folder) as client:
            list_ms, body, list_bytes = server_ms(client, "/api/runs", repeats)
            sorted_ms, _, _ = server_ms(client, "/api/runs?sort=config.learning_rate&order=asc",
                                        repeats)
            page_ms, _, _ = server_ms(client, "/", repeats)
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
    results = {
        "runs_list": {
            "runs": len(body["runs"]), "server_ms": list_ms, "sorted_by_config_ms": sorted_ms,
            "html_page_ms": page_ms, "store_runs_ms": store_runs_ms, "bytes": list_bytes,
            "budget_ms": BUDGET_MS, "within_budget": list_ms < BUDGET_MS,
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
                    "cpus": os.cpu_count()},
    }
    out = HERE / "results" / "ui.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


def main() -> None:
    r = run()
    rl, lr = r["runs_list"], r["long_run"]
    print(f"runs list, {rl['runs']} runs: {rl['server_ms']:.1f} ms server time "
          f"(budget {BUDGET_MS:.0f} ms; sorted by a config key "
          f"{rl['sorted_by_config_ms']:.1f} ms; "
          f"store.runs() alone {rl['store_runs_ms']:.1f} ms; {rl['bytes'] / 1e6:.2f} MB JSON)")
    print(f"long run: {lr['recorded_steps']:,} steps served as {lr['served_points']:,} points "
          f"(steps {lr['first_step']}..{lr['last_step']}); all {lr['metric_keys']} metrics in "
          f"{lr['metrics_server_ms']:.1f} ms server time, {lr['metrics_bytes'] / 1e3:.0f} kB")
    parts = ", ".join(f"{k} {v:.0f}" for k, v in lr["run_page_parts_ms"].items())
    print(f"long run page, other requests (ms): {parts}")
    print(f"wrote {HERE / 'results' / 'ui.json'}")


if __name__ == "__main__":
    main()
