"""What a SIGKILL costs: seconds of logged rows lost, over kills at random moments.

Run it with ``.venv/bin/python benchmarks/bench_kill_loss.py [--kills 12]``; it prints a
table and writes ``benchmarks/results/kill_loss.json``. About a minute.

Each kill is a fresh child process that records a run and logs, at every step, the
wall-clock time of the step (``{"t": time.time()}``), in one of two workloads taken
in turn:

* ``log``: a loop of ``run.log`` calls, 2,000 a second (the writer has the GIL to
  itself between calls);
* ``fit``: a watched ``fit`` on the digits (64-25-15-10, batch 32, ``run.watch()`` at
  its defaults, an end snapshot each epoch), with a callback logging the time at every
  batch: the writer thread shares the GIL with training and computes the watch's
  statistics before it writes.

Once the child has flushed its first rows, the parent waits a random time (uniform
in 0.5-3 s), notes the time and sends SIGKILL. The loss of that kill is the kill time
minus the time of the last row found in the store (same machine, same clock): the
seconds of logging that never reached the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

CHILD = {
    "log": """
        import sys, time, glassnet.track as t
        run = t.init("kill", store=sys.argv[1])
        run.log({"t": time.time()})
        run.store.flush()
        print("ready", flush=True)
        while True:
            run.log({"t": time.time()})
            time.sleep(0.0005)
    """,
    "fit": """
        import sys, time, numpy as np
        import glassnet as gn
        from glassnet.layers import Dense, Input
        x, y = gn.datasets.load_digits()
        x = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype(np.float32)
        model = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu"),
                               Dense(15, activation="relu"), Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        run = gn.track.init("kill", store=sys.argv[1])
        run.log({"t": time.time()})
        run.store.flush()
        print("ready", flush=True)
        stamp = gn.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: run.log({"t": time.time()}))
        model.fit(x, y, epochs=10_000, batch_size=32, verbose=0,
                  callbacks=[run.watch(snapshots="epoch"), stamp])
    """,
}


def one_kill(workload: str, folder: str, rng: random.Random) -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD[workload]), folder],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    try:
        line = child.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"child did not start: {child.stderr.read()}")
        time.sleep(rng.uniform(0.5, 3.0))
        killed_at = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        child.kill()
    import glassnet.track as gt

    store = gt.open_store(folder)
    run = store.runs()[0]
    _, times = store.metrics(run.id, "t")
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    result = {"workload": workload, "lost_s": killed_at - float(times.max()),
              "rows_per_s": rate, "status": run.status, "integrity": store.integrity_check()}
    store.close()
    return result


def run(kills: int = 12, seed: int = 0) -> dict:
    rng = random.Random(seed)
    results = []
    for i in range(kills):
        workload = ("log", "fit")[i % 2]
        with tempfile.TemporaryDirectory() as folder:
            results.append(one_kill(workload, folder, rng))
    out = {"kills": kills, "seed": seed, "results": results}
    for workload in ("log", "fit", "all"):
        lost = [r["lost_s"] for r in results if workload in ("all", r["workload"])]
        out[workload] = {"n": len(lost), "min_s": min(lost), "median_s": statistics.median(lost),
                         "max_s": max(lost)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = run(args.kills, args.seed)
    print(f"{'workload':<10}{'kills':>6}{'min s':>9}{'median s':>10}{'max s':>9}")
    for workload in ("log", "fit", "all"):
        s = out[workload]
        print(f"{workload:<10}{s['n']:>6}{s['min_s']:>9.3f}{s['median_s']:>10.3f}"
              f"{s['max_s']:>9.3f}")
    bad = [r for r in out["results"] if r["status"] != "crashed" or r["integrity"] != "ok"]
    print(f"every run read back crashed with an intact database: {not bad}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "kill_loss.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
