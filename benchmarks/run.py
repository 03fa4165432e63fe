"""``make bench``: glassnet side by side with PyTorch, Keras 3 and scikit-learn.

Every measurement is a fresh subprocess that prints one JSON line: glassnet's side
(``benchmarks/workloads.py``) and the GEMM bound (``benchmarks/gemm_bound.py``) in
glassnet's venv, the peers (``benchmarks/peers.py``) in ``.venv-bench``. glassnet
runs as a subprocess too, not in this process, so that every contestant starts
alike: a fresh interpreter, ``OMP_NUM_THREADS=MKL_NUM_THREADS=OPENBLAS_NUM_THREADS=2``
set before NumPy is imported, no warm caches carried over from another contestant.
Only the training (or predict) call is timed, inside each process.

Within a workload the contestants run interleaved, A B C, B C A, C A B ..., one warm-up
round then ``--repeats`` timed rounds (5 by default; W2 and W3 get 6 more and
predict 2, see ``EXTRA_ROUNDS``), so slow drifts of a shared machine hit everyone
alike. Everyone trains on the same arrays, from the same initial weights (a
safetensors file) and, where the peer allows it, in the same batch order (a
safetensors file of permutations); scikit-learn shuffles on its own.

Output: a table of median, min and max seconds, each peer's ratio to glassnet
(peer median / glassnet median: above 1 means glassnet is faster) and each
workload's figure (µs per step, test accuracy, GEMM-bound ratio, rows per second,
peak memory), written as JSON to ``benchmarks/results/<date>.json`` and
``benchmarks/results/latest.json`` with the CPU and library versions.

    .venv/bin/python -m benchmarks.run            # the full run, ~10 minutes
    .venv/bin/python -m benchmarks.run --quick    # smoke run: 1 repeat, no warm-up
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Before NumPy loads its BLAS: W4 runs bench_track in this very process.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "2"

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
THREADS = 2
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"

# workload: contestants after glassnet; "gemm_bound" is NumPy's products alone;
# "glassnet-numpy" is glassnet without its CBLAS calls (GLASSNET_BLAS=numpy, see glassnet/blas.py).
PLAN = {
    "w1": ["torch", "keras", "sklearn"],
    "w2": ["torch", "keras", "sklearn"],
    "w3": ["gemm_bound", "glassnet-numpy", "torch", "keras", "sklearn"],
    "predict": ["torch", "onnxruntime"],
}
# Extra timed rounds, for everyone in the workload, where one busy neighbour moves a
# round the most: more rounds steady the medians. W3 and predict are BLAS-bound, and
# two BLAS threads wait for each other when another process takes a core (W3's ratio
# to the bound is a target within a few per cent). W2's glassnet rounds are the
# shortest timed calls of the run (0.08 s): a burst of a few tens of milliseconds
# moves one by a third (0.077-0.125 s in one run), against a tenth of scikit-learn's
# 0.37 s, and its ratio to scikit-learn is a target too.
EXTRA_ROUNDS = {"w2": 6, "w3": 6, "predict": 2}
TITLES = {
    "w1": "W1  one linear unit, 1,000 full-batch fit epochs (overhead-bound)",
    "w2": "W2  digits 64-25-15-10, Adam, batch 32, 30 epochs",
    "w3": "W3  60,000 x 784 -> 512 -> 256 -> 10, SGD, batch 128, one epoch (GEMM-bound)",
    "predict": "predict  W3's network over 60,000 rows, batch 1,024",
}


def thread_env() -> dict:
    """The environment every subprocess gets: 2 threads for every BLAS and OpenMP."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(THREADS)
    env["KERAS_BACKEND"] = "torch"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONHASHSEED", "0")
    return env


# -- shared inputs --------------------------------------------------------------------------
def write_inputs(folder: Path) -> dict:
    """Initial weights and batch orders for every workload, as the peers read them."""
    from safetensors.numpy import save_file

    from benchmarks.peers import default_order, default_weights
    from benchmarks.workloads import N_SAMPLES

    files = {}
    for workload in PLAN:
        weights = default_weights(workload)
        w_path = folder / f"{workload}_weights.safetensors"
        save_file({str(i): np.ascontiguousarray(w) for i, w in enumerate(weights)}, str(w_path))
        files[workload] = {"weights": str(w_path)}
        if workload != "predict":
            o_path = folder / f"{workload}_order.safetensors"
            order = default_order(workload, N_SAMPLES[workload]).astype(np.int64)
            save_file({"order": np.ascontiguousarray(order)}, str(o_path))
            files[workload]["order"] = str(o_path)
    return files


def export_glassnet_onnx(folder: Path, weights_path: str) -> tuple[str | None, str]:
    """W3's network exported by glassnet for onnxruntime; (None, why) when not possible."""
    path = folder / "w3_glassnet.onnx"
    done = subprocess.run([sys.executable, "-m", "benchmarks.workloads", "predict",
                           "--weights", weights_path, "--export-onnx", str(path)],
                          capture_output=True, text=True, env=thread_env(), cwd=ROOT)
    if done.returncode != 0:
        return None, f"glassnet's ONNX export failed: {done.stderr.strip()[-300:]}"
    if not json.loads(done.stdout.strip().splitlines()[-1]).get("exported"):
        return None, "gn.io.export_onnx is not there yet: onnxruntime skipped"
    return str(path), "onnxruntime runs glassnet's own ONNX export"


# -- one measurement ------------------------------------------------------------------------
def command(workload: str, contestant: str, files: dict, onnx: str | None) -> list[str]:
    inputs = ["--weights", files[workload]["weights"]]
    if "order" in files[workload]:
        inputs += ["--order", files[workload]["order"]]
    if contestant in ("glassnet", "glassnet-numpy"):
        return [sys.executable, "-m", "benchmarks.workloads", workload, *inputs]
    if contestant == "gemm_bound":
        return [sys.executable, "-m", "benchmarks.gemm_bound"]
    extra = ["--onnx", onnx] if contestant == "onnxruntime" and onnx else []
    return [str(BENCH_PYTHON), str(HERE / "peers.py"), workload, contestant, *inputs, *extra]


def measure(argv: list[str], timeout: float = 600, env: dict | None = None) -> dict:
    """Run one measurement subprocess; its JSON line, or {"error": ...}."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              env={**thread_env(), **(env or {})}, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit code {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_workload(workload: str, contestants: list[str], files: dict, onnx: str | None,
                 repeats: int, warmup: bool, log) -> dict:
    """Interleaved rounds; per contestant the list of timed results (errors kept aside)."""
    runs: dict[str, list[dict]] = {c: [] for c in contestants}
    errors: dict[str, str] = {}
    rounds = ([False] if warmup else []) + [True] * repeats
    for number, timed in enumerate(rounds):
        # Rotated each round (A B C, B C A, C A B ...): no contestant always runs first,
        # right after the previous round's heaviest peer has freed its memory.
        shift = number % len(contestants)
        for contestant in contestants[shift:] + contestants[:shift]:
            if contestant in errors:
                continue
            env = {"GLASSNET_BLAS": "numpy"} if contestant == "glassnet-numpy" else None
            result = measure(command(workload, contestant, files, onnx), env=env)
            if "error" in result:
                errors[contestant] = result["error"]
                log(f"  {workload} {contestant}: {result['error']}")
                continue
            if timed:
                runs[contestant].append(result)
        log(f"  {workload} round {number + 1}/{len(rounds)}"
            f"{'' if timed else ' (warm-up)'} done")
    return {"runs": runs, "errors": errors}


# -- summaries ------------------------------------------------------------------------------
def summarize(workload: str, measured: dict) -> dict:
    """Median/min/max seconds per contestant, ratios to glassnet, the workload's figures."""
    rows = {}
    for contestant, runs in measured["runs"].items():
        if not runs:
            continue
        seconds = [r["seconds"] for r in runs]
        row = {"median_s": statistics.median(seconds), "min_s": min(seconds),
               "max_s": max(seconds), "repeats": len(seconds), "seconds": seconds}
        for key in ("us_per_step", "accuracy", "rows_per_s", "peak_rss_mb"):
            values = [r[key] for r in runs if r.get(key) is not None]
            if values:
                row[key] = statistics.median(values)
        if runs[0].get("versions"):
            row["versions"] = runs[0]["versions"]
        rows[contestant] = row
    base = rows.get("glassnet")
    if base:
        for contestant, row in rows.items():
            if contestant == "gemm_bound":
                # How far glassnet's epoch is above its own arithmetic.
                row["glassnet_over_bound"] = base["median_s"] / row["median_s"]
                # Per-round pairs cancel slow drifts better than a ratio of medians.
                pairs = [g["seconds"] / b["seconds"] for g, b in
                         zip(measured["runs"]["glassnet"], measured["runs"]["gemm_bound"],
                             strict=False)]
                row["glassnet_over_bound_paired_median"] = statistics.median(pairs)
                row["glassnet_over_bound_paired_min"] = min(pairs)
                # Each side at its least disturbed: the closest to a quiet machine.
                row["glassnet_over_bound_best"] = base["min_s"] / row["min_s"]
            elif contestant != "glassnet":
                row["ratio_to_glassnet"] = row["median_s"] / base["median_s"]
        if "glassnet-numpy" in rows and "gemm_bound" in rows:
            rows["glassnet-numpy"]["over_bound"] = (rows["glassnet-numpy"]["median_s"]
                                                    / rows["gemm_bound"]["median_s"])
    return {"rows": rows, "errors": measured["errors"]}


def machine() -> dict:
    """CPU model, cores and the library versions of glassnet's side."""
    cpu = platform.processor() or platform.machine()
    try:
        import cpuinfo  # py-cpuinfo, when installed

        cpu = cpuinfo.get_cpu_info().get("brand_raw", cpu)
    except ImportError:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    import glassnet

    info = {"cpu": cpu, "cores": os.cpu_count(), "threads": THREADS,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "glassnet": glassnet.__version__}
    try:
        info["blas"] = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except Exception:  # noqa: BLE001 - only a label for the table
        pass
    return info


def track_overhead(repeats: int, log) -> dict:
    """W4: the tracking engineer's ``benchmarks/bench_track.run()``, when it is there."""
    if not (HERE / "bench_track.py").exists():
        return {"skipped": "benchmarks/bench_track.py is not there yet"}
    try:
        from benchmarks import bench_track
    except Exception as error:  # noqa: BLE001 - report, don't fail the whole bench
        return {"skipped": f"bench_track failed to import: {type(error).__name__}: {error}"}
    log("  w4 tracking overhead (bench_track.run, in this process)")
    try:
        return bench_track.run(repeats=repeats)
    except Exception as error:  # noqa: BLE001
        return {"skipped": f"bench_track.run failed: {type(error).__name__}: {error}"}


def ui_scale(log) -> dict:
    """The dashboard's scale figures: ``benchmarks/bench_ui.run()`` (10,000 runs, a 20-run
    compare, 100k steps)."""
    try:
        from benchmarks import bench_ui
    except Exception as error:  # noqa: BLE001 - report, don't fail the whole bench
        return {"skipped": f"bench_ui failed to import: {type(error).__name__}: {error}"}
    log("  ui scale (bench_ui.run, in this process)")
    try:
        return bench_ui.run()
    except Exception as error:  # noqa: BLE001
        return {"skipped": f"bench_ui.run failed: {type(error).__name__}: {error}"}


def sweep_scale(quick: bool, log) -> dict:
    """A dask sweep's parallel efficiency and the store per fit: ``benchmarks/bench_sweep.py``.

    In a subprocess of its own: its processes fit on one BLAS thread each, not this one's 2."""
    log("  sweep on dask, 1 vs 2 workers, and the store per fit (bench_sweep, ~5 minutes)")
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench_sweep", "--json"]
                          + (["--quick"] if quick else []),
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return {"skipped": f"bench_sweep failed: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- table ---------------------------------------------------------------------------------
def _figure(workload: str, contestant: str, row: dict) -> str:
    if contestant == "gemm_bound":
        return (f"glassnet / bound = {row['glassnet_over_bound']:.2f}x "
                f"(paired {row['glassnet_over_bound_paired_median']:.2f}x, "
                f"best {row['glassnet_over_bound_best']:.2f}x)")
    parts = []
    if workload in ("w1", "w2") and "us_per_step" in row:
        parts.append(f"{row['us_per_step']:,.1f} µs/step")
    if workload == "w2" and "accuracy" in row:
        parts.append(f"test acc {row['accuracy']:.4f}")
    if contestant == "glassnet-numpy" and "over_bound" in row:
        parts.append(f"NumPy's BLAS only: {row['over_bound']:.2f}x the bound")
    if workload == "w3" and "peak_rss_mb" in row:
        parts.append(f"peak RSS {row['peak_rss_mb']:,.0f} MiB")
    if workload == "predict" and "rows_per_s" in row:
        parts.append(f"{row['rows_per_s']:,.0f} rows/s")
    return ", ".join(parts)


def print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    m = report["machine"]
    console.print(f"[bold]glassnet benchmarks[/] {report['date']}  {m['cpu']}, {m['cores']} "
                  f"cores, {m['threads']} threads; Python {m['python']}, NumPy {m['numpy']}"
                  f" ({m.get('blas', '?')})")
    for workload, summary in report["workloads"].items():
        table = Table(title=TITLES[workload], title_justify="left")
        for name in ("contestant", "median s", "min s", "max s", "n", "peer / glassnet",
                     "figure"):
            table.add_column(name, justify="left" if name in ("contestant", "figure")
                             else "right")
        for contestant, row in summary["rows"].items():
            ratio = row.get("ratio_to_glassnet")
            table.add_row(contestant, f"{row['median_s']:.4f}", f"{row['min_s']:.4f}",
                          f"{row['max_s']:.4f}", str(row["repeats"]),
                          "" if ratio is None else f"{ratio:.1f}x",
                          _figure(workload, contestant, row))
        console.print(table)
        for contestant, error in summary["errors"].items():
            console.print(f"  [yellow]{contestant} skipped:[/] {error}")
        for note in summary.get("notes", []):
            console.print(f"  note: {note}")
    w4 = report.get("w4", {})
    if "watch_overhead" in w4:
        o = w4["watch_overhead"]
        console.print(f"[bold]W4[/] tracking: watch() defaults {o['default_ratio']:.3f}x, "
                      f"watch(log_freq=1, histograms=True) {o['log_freq_1_ratio']:.2f}x "
                      f"of W2 without watch ({o['plain_s'] * 1000:.0f} ms), timed to "
                      f"run.finish(); CPU {o['default_cpu_ratio']:.3f}x, "
                      f"{o['log_freq_1_cpu_ratio']:.2f}x")
    else:
        console.print(f"[bold]W4[/] tracking: skipped ({w4.get('skipped', 'not run')})")
    ui = report.get("ui", {})
    if "runs_list" in ui:
        runs, long = ui["runs_list"], ui["long_run"]
        console.print(f"[bold]UI[/] runs list of {runs['runs']:,} runs: {runs['server_ms']:.1f} ms "
                      f"server time (budget {runs['budget_ms']:.0f} ms); a "
                      f"{long['recorded_steps']:,}-step run served as {long['served_points']:,} "
                      f"points (steps {long['first_step']}..{long['last_step']}) in "
                      f"{long['metrics_server_ms']:.1f} ms")
        if "pages" in runs and "compare" in ui:  # bench_ui's figures since issue 20
            pages, cmp = runs["pages"], ui["compare"]
            console.print(f"    grouped by sweep {pages['grouped_page']['server_ms']:.1f} ms, "
                          f"filtered {pages['filtered_page']['server_ms']:.1f} ms; compare "
                          f"page of {cmp['runs']} runs {cmp['server_ms']:.1f} ms")
    else:
        console.print(f"[bold]UI[/] scale: skipped ({ui.get('skipped', 'not run')})")
    store = report.get("store", {})
    if "writers" in store:
        from benchmarks.bench_store import summary_lines

        for line in summary_lines(store):
            console.print(f"[bold]Store[/] {line}")
    elif store:
        console.print(f"[bold]Store[/]: skipped ({store.get('skipped')})")
    watched = report.get("watchers", {})
    if "contestants" in watched:
        from benchmarks.bench_watchers import print_table as watchers_table

        console.print("[bold]Watchers[/] time to the end of finish(), over the same loop "
                      "unwatched: median [quartiles]")
        watchers_table(watched)
    elif watched:
        console.print(f"[bold]Watchers[/]: skipped ({watched.get('skipped')})")

    sweep = report.get("sweep", {})
    if "efficiency" in sweep:
        from benchmarks.bench_sweep import describe

        for line in describe(sweep):
            console.print(f"[bold]Sweep[/] {line}", markup=True, highlight=False)
    else:
        console.print(f"[bold]Sweep[/]: skipped ({sweep.get('skipped', 'not run')})")


def watchers(quick: bool, log) -> dict:
    """What watching a PyTorch loop and a Keras fit costs, beside W&B and TensorBoard:
    ``benchmarks/bench_watchers.run()`` (each contestant in its own subprocess)."""
    try:
        from benchmarks import bench_watchers
    except Exception as error:  # noqa: BLE001 - the other workloads still report
        return {"skipped": f"bench_watchers failed to import: {type(error).__name__}: {error}"}
    log("watchers: PyTorch loop and Keras fit, unwatched / glassnet / wandb / tensorboard")
    try:
        return bench_watchers.run(1 if quick else 5, warmup=not quick, log=log)
    except Exception as error:  # noqa: BLE001
        return {"skipped": f"bench_watchers.run failed: {type(error).__name__}: {error}"}


def store_backends(quick: bool, log) -> dict:
    """The store on SQLite vs PostgreSQL: ``benchmarks/bench_store.run()``."""
    try:
        from benchmarks import bench_store
    except Exception as error:
        return {"skipped": f"bench_store failed to import: {type(error).__name__}: {error}"}
    try:
        return bench_store.run(quick=quick, log=log)
    except Exception as error:
        return {"skipped": f"bench_store.run failed: {type(error).__name__}: {error}"}


# -- main ----------------------------------------------------------------------------------
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="glassnet vs PyTorch, Keras, scikit-learn")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one timed round, no warm-up, no results files")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per workload")
    parser.add_argument("--only", nargs="+",
                        choices=sorted(PLAN) + ["w4", "ui", "store", "watchers", "sweep"],
                        help="run only these workloads")
    parser.add_argument("--no-peers", action="store_true", help="glassnet and the bound only")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    warmup = not args.quick
    chosen = args.only or list(PLAN) + ["w4", "ui", "store", "watchers", "sweep"]

    def log(message):
        print(message, file=sys.stderr, flush=True)

    peers_ok = BENCH_PYTHON.exists() and (HERE / "peers.py").exists() and not args.no_peers
    started = time.perf_counter()
    report = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "machine": machine(), "repeats": repeats, "warmup_rounds": int(warmup),
              "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="glassnet-bench-") as tmp:
        folder = Path(tmp)
        files = write_inputs(folder)
        onnx, onnx_note = None, ""
        if "predict" in chosen and peers_ok:
            onnx, onnx_note = export_glassnet_onnx(folder, files["predict"]["weights"])
        for workload in (w for w in PLAN if w in chosen):
            contestants = ["glassnet"] + [c for c in PLAN[workload]
                                          if c in ("gemm_bound", "glassnet-numpy") or peers_ok]
            notes = [] if peers_ok else ["peers skipped: .venv-bench or peers.py missing"]
            if workload == "predict" and "onnxruntime" in contestants:
                notes.append(onnx_note)
                if onnx is None:
                    contestants.remove("onnxruntime")
            log(f"{workload}: {', '.join(contestants)}")
            rounds = repeats + (0 if args.quick else EXTRA_ROUNDS.get(workload, 0))
            measured = run_workload(workload, contestants, files, onnx, rounds, warmup, log)
            summary = summarize(workload, measured)
            summary["notes"] = notes
            report["workloads"][workload] = summary
    if "w4" in chosen:
        report["w4"] = track_overhead(3 if args.quick else 5, log)
    if "ui" in chosen:
        report["ui"] = ui_scale(log)
    if "store" in chosen:
        report["store"] = store_backends(args.quick, log)
    if "watchers" in chosen:
        report["watchers"] = watchers(args.quick, log)
    if "sweep" in chosen:
        report["sweep"] = sweep_scale(args.quick, log)
    report["wall_seconds"] = time.perf_counter() - started
    print_table(report)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        text = json.dumps(report, indent=2, sort_keys=False) + "\n"
        (RESULTS / f"{report['date'][:10]}.json").write_text(text)
        (RESULTS / "latest.json").write_text(text)
        print(f"results: {RESULTS / 'latest.json'}  ({report['wall_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
