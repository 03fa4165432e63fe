"""What watching costs: the W2 digits network in a plain PyTorch loop and a Keras ``fit``,
unwatched, watched by glassnet, and watched by W&B and TensorBoard, side by side.

Run it with ``.venv/bin/python benchmarks/bench_watchers.py [--repeats 5] [--quick]``
(``make bench`` runs it as well); it prints a table and writes
``benchmarks/results/watchers.json``.

Workload: scikit-learn's digits (glassnet's copy), standardised, the first 80% of the
rows (1,437); 64-25(relu)-15(relu)-10, cross-entropy, Adam 1e-3, batch 32, 30 epochs:
1,350 optimizer steps, one torch thread, the same initial weights and batch order for
everyone (written once to a safetensors file).

Contestants, each a fresh subprocess per measurement, run interleaved in rotating order
(one warm-up round, then ``--repeats`` timed rounds):

- PyTorch loop, in glassnet's ``.venv``: ``unwatched``; ``glassnet run, no watch``
  (glassnet imported and a run open around the same loop: what that alone does to the
  loop's speed, a floor for the watched ones); ``glassnet defaults``
  (``run.watch(model)``); ``glassnet log_freq=1+histograms`` (``run.watch(model,
  log_freq=1, histograms=True)``), each step ``run.step(loss=loss)``;
- PyTorch loop, in the peers' ``.venv-bench``: ``unwatched (bench venv)``, the peers'
  own baseline; ``wandb log=all log_freq=1`` (``wandb.watch(model, log="all",
  log_freq=1)``, offline, ``wandb.log({"loss": loss.item()})`` each step);
  ``tensorboard histograms`` (``SummaryWriter.add_histogram`` of every parameter and
  ``add_scalar`` of the loss each step);
- Keras 3 ``fit`` (torch backend), in ``.venv``: ``keras unwatched``, ``keras
  glassnet defaults`` (``callbacks=[Watch(run)]``), ``keras glassnet
  log_freq=1+histograms``.

Each is timed as the user waits: from the loop's start (``run.watch`` / ``wandb.watch``
included) until ``run.finish()`` / ``wandb.finish()`` / ``writer.close()`` returns; making
the run, the wandb run or the writer comes before the clock starts. A ratio is the median
over rounds of the round's time over its baseline's (the same venv's unwatched loop or
Keras fit), by wall clock and by process CPU time (all threads and, for wandb, its
service process's share is not counted: CPU ratios of wandb understate it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

import numpy as np  # noqa: E402

EPOCHS, BATCH = 30, 32
# contestant: (framework, venv, watcher, baseline it is divided by)
CONTESTANTS = {
    "unwatched": ("torch", "glassnet", None, "unwatched"),
    # a run open, nothing watched: what importing glassnet and a store do to the loop
    "glassnet run, no watch": ("torch", "glassnet", "run", "unwatched"),
    "glassnet defaults": ("torch", "glassnet", {}, "unwatched"),
    "glassnet log_freq=1+histograms": ("torch", "glassnet",
                                       {"log_freq": 1, "histograms": True}, "unwatched"),
    "unwatched (bench venv)": ("torch", "bench", None, "unwatched (bench venv)"),
    "wandb log=all log_freq=1": ("torch", "bench", "wandb", "unwatched (bench venv)"),
    "tensorboard histograms": ("torch", "bench", "tensorboard", "unwatched (bench venv)"),
    "keras unwatched": ("keras", "glassnet", None, "keras unwatched"),
    "keras glassnet defaults": ("keras", "glassnet", {}, "keras unwatched"),
    "keras glassnet log_freq=1+histograms": ("keras", "glassnet",
                                             {"log_freq": 1, "histograms": True},
                                             "keras unwatched"),
}
TARGETS = {"glassnet defaults": 1.03, "glassnet log_freq=1+histograms": 1.3,
           "keras glassnet defaults": 1.03}


# -- the inputs everyone shares ----------------------------------------------------------
def write_inputs(path: Path) -> None:
    """Digits (standardised, first 80%), the initial weights and 30 epochs' batch order."""
    import torch
    from safetensors.numpy import save_file

    sys.path.insert(0, str(ROOT / "src"))
    import glassnet as gn

    x, y = gn.datasets.load_digits()
    n_train = int(len(x) * 0.8)
    x = x[:n_train]
    x = ((x - x.mean(axis=0)) / (x.std(axis=0) + 1e-7)).astype(np.float32)
    torch.manual_seed(0)
    state = make_module().state_dict()
    order = np.stack([np.random.default_rng(e).permutation(n_train) for e in range(EPOCHS)])
    save_file({"x": x, "y": y[:n_train].astype(np.int64), "order": order.astype(np.int64),
               **{f"w.{k}": v.numpy() for k, v in state.items()}}, str(path))


def read_inputs(path: str):
    from safetensors.numpy import load_file

    data = load_file(path)
    state = {k[2:]: v for k, v in data.items() if k.startswith("w.")}
    return data["x"], data["y"], data["order"], state


def make_module(state=None):
    import torch

    nn = torch.nn
    module = nn.Sequential(nn.Linear(64, 25), nn.ReLU(), nn.Linear(25, 15), nn.ReLU(),
                           nn.Linear(15, 10))
    if state is not None:
        module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return module


# -- one measurement (in a subprocess) ---------------------------------------------------
def torch_loop(inputs, watcher, store) -> tuple[float, float]:
    import torch

    x, y, order, state = inputs
    module = make_module(state)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    perms = [torch.from_numpy(p) for p in order]
    run = wb = writer = None
    if isinstance(watcher, dict) or watcher == "run":
        sys.path.insert(0, str(ROOT / "src"))
        import glassnet as gn

        run = gn.track.init("bench-watchers", store=store)
    elif watcher == "wandb":
        import wandb

        wb = wandb.init(project="bench-watchers", dir=str(store), mode="offline")
    elif watcher == "tensorboard":
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(store))
    named = list(module.named_parameters())
    start, cpu = time.perf_counter(), time.process_time()
    watching = isinstance(watcher, dict)
    if watching:
        run.watch(module, **watcher)
    if wb is not None:
        wandb.watch(module, log="all", log_freq=1)
    step = 0
    for perm in perms:
        for i in range(0, len(x), BATCH):
            index = perm[i:i + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module(xt[index]), yt[index])
            loss.backward()
            optimizer.step()
            if watching:
                run.step(loss=loss)
            elif wb is not None:
                wb.log({"loss": loss.item()})
            elif writer is not None:
                writer.add_scalar("loss", loss.item(), step)
                for name, parameter in named:
                    writer.add_histogram(name, parameter, step)
            step += 1
    if run is not None:
        run.finish()
    if wb is not None:
        wb.finish()
    if writer is not None:
        writer.close()
    return time.perf_counter() - start, time.process_time() - cpu


def keras_fit(inputs, watcher, store) -> tuple[float, float]:
    import keras

    x, y, order, state = inputs
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(25, activation="relu"),
                              keras.layers.Dense(15, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.set_weights([state[f"{i}.{leaf}"].T if leaf == "weight" else state[f"{i}.{leaf}"]
                       for i in (0, 2, 4) for leaf in ("weight", "bias")])
    callbacks, run = [], None
    if watcher is not None:
        sys.path.insert(0, str(ROOT / "src"))
        import glassnet as gn
        from glassnet.track.keras import Watch

        run = gn.track.init("bench-watchers", store=store)
        callbacks = [Watch(run, **watcher)]
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, verbose=0, shuffle=True,
              callbacks=callbacks)
    if run is not None:
        run.finish()
    return time.perf_counter() - start, time.process_time() - cpu


def one(contestant: str, inputs_path: str, store: str) -> dict:
    import torch

    torch.set_num_threads(1)
    framework, _, watcher, _ = CONTESTANTS[contestant]
    inputs = read_inputs(inputs_path)
    trainer = torch_loop if framework == "torch" else keras_fit
    wall, cpu = trainer(inputs, watcher, Path(store))
    return {"wall": wall, "cpu": cpu}


# -- the harness -------------------------------------------------------------------------
def _python(venv: str) -> str:
    return sys.executable if venv == "glassnet" else str(BENCH_PYTHON)


def measure(contestant: str, inputs: Path, folder: Path, tag: str) -> dict:
    store = folder / f"{tag}-{len(list(folder.iterdir()))}"
    store.mkdir()
    env = dict(os.environ, KERAS_BACKEND="torch", WANDB_MODE="offline", WANDB_SILENT="true",
               WANDB_DISABLE_GIT="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT),
               # compiled modules cached as in any installed package (the warm-up round
               # writes them), outside the source tree: a module first imported inside the
               # clock (run.watch's, wandb.watch's) costs what it costs a user
               PYTHONPYCACHEPREFIX=str(folder.parent / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([_python(CONTESTANTS[contestant][1]), str(Path(__file__)), "--one",
                           contestant, "--inputs", str(inputs), "--store", str(store)],
                          capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def _spread(values: list[float]) -> dict:
    """Median, min, max and the quartiles of ``values``."""
    q = np.percentile(values, [0, 25, 50, 75, 100]).tolist()
    return {"median": q[2], "min": q[0], "q1": q[1], "q3": q[3], "max": q[4]}


def run(repeats: int = 5, warmup: bool = True, log=print, only=None) -> dict:
    """Every contestant that can run here (or those of ``only`` and their baselines),
    interleaved; ``{"contestants": {name: figures}, ...}``."""
    names = [n for n in CONTESTANTS if CONTESTANTS[n][1] == "glassnet" or BENCH_PYTHON.exists()]
    if only:
        wanted = set(only) | {CONTESTANTS[n][3] for n in only}
        names = [n for n in names if n in wanted]
    times: dict[str, list[dict]] = {n: [] for n in names}
    errors: dict[str, str] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-watchers-") as tmp:
        folder = Path(tmp)
        inputs = folder / "inputs.safetensors"
        write_inputs(inputs)
        stores = folder / "stores"
        stores.mkdir()
        rounds = repeats + int(warmup)
        for r in range(rounds):
            log(f"  watchers round {r + 1}/{rounds}{' (warm-up)' if warmup and r == 0 else ''}"
                f"  load {os.getloadavg()[0]:.2f}")
            for k in range(len(names)):  # rotating order: nobody always goes first
                name = names[(r + k) % len(names)]
                if name in errors:
                    continue
                got = measure(name, inputs, stores, str(r))
                if "error" in got:
                    errors[name] = got["error"]
                elif not (warmup and r == 0):
                    times[name].append(got)
    out: dict = {}
    for name, measured in times.items():
        baseline = times[CONTESTANTS[name][3]]
        if name in errors or not measured or len(baseline) != len(measured):
            continue
        pairs = list(zip(measured, baseline, strict=True))  # the same round's baseline
        wall = _spread([t["wall"] / b["wall"] for t, b in pairs])
        cpu = _spread([t["cpu"] / b["cpu"] for t, b in pairs])
        row = {"median_seconds": statistics.median(t["wall"] for t in measured),
               "median_cpu_seconds": statistics.median(t["cpu"] for t in measured),
               "ratio": wall["median"], "cpu_ratio": cpu["median"],
               "ratio_spread": wall, "cpu_ratio_spread": cpu,
               "seconds": [t["wall"] for t in measured],
               "cpu_seconds": [t["cpu"] for t in measured],
               "baseline": CONTESTANTS[name][3], "rounds": len(measured)}
        if name in TARGETS:
            row["target"] = TARGETS[name]
            row["met"] = row["ratio"] <= TARGETS[name]
            row["met_cpu"] = row["cpu_ratio"] <= TARGETS[name]
        out[name] = row
    return {"contestants": out, "errors": errors, "steps": EPOCHS * -(-1437 // BATCH),
            "repeats": repeats, "cores": os.cpu_count(),
            "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def print_table(results: dict) -> None:
    """Median seconds, and the wall and CPU ratios: median [quartiles]."""
    print(f"{'contestant':<36} {'med s':>6} {'wall ratio':>18} {'CPU ratio':>18} {'target':>6}")
    for name, row in results["contestants"].items():
        target = f"{row['target']:.2f}" if "target" in row else ""
        wall, cpu = row["ratio_spread"], row["cpu_ratio_spread"]
        print(f"{name:<36} {row['median_seconds']:>6.2f} "
              f"{wall['median']:>5.2f}x [{wall['q1']:.2f}-{wall['q3']:.2f}] "
              f"{cpu['median']:>5.2f}x [{cpu['q1']:.2f}-{cpu['q3']:.2f}] {target:>6}")
    load = results.get("load_average", {})
    if load:
        print(f"load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load['before'])}"
              f"; after {', '.join(f'{v:.2f}' for v in load['after'])}; "
              f"{results.get('cores')} cores")
    for name, error in results["errors"].items():
        print(f"{name} skipped: {error}"[:200])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one round, no warm-up, no file")
    parser.add_argument("--only", nargs="+", choices=list(CONTESTANTS), metavar="NAME",
                        help="only these contestants (and their baselines)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # one measurement, in a subprocess
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.inputs, args.store)))
        return {}
    results = run(1 if args.quick else args.repeats, warmup=not args.quick,
                  log=lambda m: print(m, file=sys.stderr, flush=True), only=args.only)
    print_table(results)
    if not args.quick and not args.only:
        (HERE / "results" / "watchers.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
