"""What watching a PyTorch loop costs: the W2 digits network, unwatched vs run.watch(module).

Run it with ``.venv/bin/python benchmarks/bench_watchers.py [--repeats 5] [--keras]``;
it prints a table and writes ``benchmarks/results/watchers.json``.

Workload (as ``bench_track.py``'s, in a plain PyTorch loop): scikit-learn's digits,
standardised, the first 80% of the rows (1,437); 64-25(relu)-15(relu)-10, cross-entropy,
Adam 1e-3, batch 32, 30 epochs: 1,350 optimizer steps, one torch thread. Each repeat
trains three fresh modules from the same initial weights, in rotating order: unwatched,
``run.watch(model)`` at its defaults, and ``run.watch(model, log_freq=1,
histograms=True)``. Each is timed as the user waits: from the loop's start (the
``run.watch`` call included) until ``run.finish()`` returns. The overhead is the median
over repeats of the per-repeat ratio to the unwatched time (wall clock, and process CPU
time of all threads: less moved by other processes on a shared machine). With ``--keras``, the same
for a Keras 3 ``fit`` (torch backend) with and without ``glassnet.track.keras.Watch``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import glassnet as gn  # noqa: E402

EPOCHS, BATCH = 30, 32
VARIANTS = {"unwatched": None, "defaults": {}, "log_freq=1+histograms":
            {"log_freq": 1, "histograms": True}}


def digits():
    x, y = gn.datasets.load_digits()
    n_train = int(len(x) * 0.8)
    x = x[:n_train]
    x = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype(np.float32)
    return x, y[:n_train]


def make_module(initial=None):
    nn = torch.nn
    module = nn.Sequential(nn.Linear(64, 25), nn.ReLU(), nn.Linear(25, 15), nn.ReLU(),
                           nn.Linear(15, 10))
    if initial is not None:
        module.load_state_dict(initial)
    return module


def torch_loop(x, y, initial, store, watch_kwargs) -> tuple[float, float]:
    """(wall, CPU) seconds from the loop's start until run.finish() returns (no run when
    unwatched)."""
    module = make_module(initial)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    order = np.random.default_rng(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    run = gn.track.init("bench-watchers", store=store) if watch_kwargs is not None else None
    start, cpu = time.perf_counter(), time.process_time()
    if run is not None:
        run.watch(module, **watch_kwargs)
    for _ in range(EPOCHS):
        perm = torch.from_numpy(order.permutation(len(x)))
        for i in range(0, len(x), BATCH):
            index = perm[i:i + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            if run is not None:
                run.step(loss=loss)
    if run is not None:
        run.finish()
    return time.perf_counter() - start, time.process_time() - cpu


def keras_fit(x, y, initial, store, watch_kwargs) -> tuple[float, float]:
    import keras

    from glassnet.track.keras import Watch

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(25, activation="relu"),
                              keras.layers.Dense(15, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.set_weights(initial)
    run = gn.track.init("bench-watchers", store=store) if watch_kwargs is not None else None
    callbacks = [Watch(run, **watch_kwargs)] if run is not None else []
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    if run is not None:
        run.finish()
    return time.perf_counter() - start, time.process_time() - cpu


def measure(trainer, initial, repeats: int, variants: dict) -> dict:
    x, y = digits()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    names = list(variants)
    with tempfile.TemporaryDirectory() as folder:
        for r in range(repeats):
            for k in range(len(names)):  # rotating order: no variant always goes first
                name = names[(r + k) % len(names)]
                store = Path(folder) / f"{name}-{r}".replace("=", "").replace("+", "")
                times[name].append(trainer(x, y, initial, store, variants[name]))
    base = times[names[0]]
    return {name: {"median_seconds": statistics.median(w for w, _ in t),
                   "ratio": statistics.median(a[0] / b[0] for a, b in zip(t, base, strict=True)),
                   "cpu_ratio": statistics.median(a[1] / b[1]
                                                  for a, b in zip(t, base, strict=True))}
            for name, t in times.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras", action="store_true", help="also a Keras fit with Watch")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    initial = make_module().state_dict()
    results = {"torch": measure(torch_loop, initial, args.repeats, VARIANTS)}
    if args.keras:
        keras_initial = [initial[k].numpy().T if k.endswith("weight") else initial[k].numpy()
                         for k in initial]
        results["keras"] = measure(keras_fit, keras_initial, args.repeats,
                                   {"unwatched": None, "defaults": {}})
    results["steps"] = EPOCHS * -(-1437 // BATCH)
    results["repeats"] = args.repeats
    print(f"{'workload':<8} {'variant':<24} {'median s':>9} {'ratio':>7} {'CPU ratio':>9}")
    for workload in ("torch", "keras"):
        for name, figures in results.get(workload, {}).items():
            print(f"{workload:<8} {name:<24} {figures['median_seconds']:>9.3f} "
                  f"{figures['ratio']:>7.3f} {figures['cpu_ratio']:>9.3f}")
    out = HERE / "results" / "watchers.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
