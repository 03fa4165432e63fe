"""What LiveView costs: the digits network's ``fit`` with and without it, in a real kernel.

Run it with ``.venv/bin/python benchmarks/bench_live_view.py [--repeats N]``; it prints
the figures and writes ``benchmarks/results/live_view.json``.

Workload: the 64-25-15-10 digits network (ReLU, Adam, sparse cross-entropy from logits,
``metrics=["accuracy"]``), all 1,797 digits scaled to [0, 1], 30 epochs of batch 32
(1,710 steps; ``--batch-size 4``: 13,500 steps, LiveView then also drawing per batch),
``verbose=0``. Each fit is timed from its call to its return, inside a
Jupyter kernel started with this Python (nbclient), so LiveView draws through real
``display``/``update_display`` messages. Fits with and without LiveView alternate, on a
freshly built model each time. The machine is shared, so one fit's time is noisy: the
figures are the median of the paired ratios (each LiveView fit over the plain fit just
before it) and the ratio of the fastest fits of each side.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CODE = r'''
import json, statistics, time
import numpy as np
import glassnet as gn
from glassnet.layers import Dense, Input

X, y = gn.datasets.load_digits()
X = X / 16.0

def model():
    gn.utils.set_random_seed(0)
    m = gn.Sequential([Input(shape=(64,)), Dense(25, activation="relu"),
                       Dense(15, activation="relu"), Dense(10)])
    m.compile(optimizer="adam", metrics=["accuracy"],
              loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m

def timed(callbacks):
    m = model()
    began = time.perf_counter()
    m.fit(X, y, epochs=30, batch_size=BATCH, verbose=0, callbacks=callbacks)
    return time.perf_counter() - began

timed([])  # warm-up: first-call costs belong to neither side
plain, live, redraws, drawing = [], [], [], []
for _ in range(REPEATS):
    plain.append(timed([]))
    view = gn.report.LiveView()
    live.append(timed([view]))
    redraws.append(view.redraws)
    drawing.append(view.drawing_seconds)
print("RESULT" + json.dumps({"plain_s": plain, "live_s": live, "redraws": redraws,
                             "drawing_s": drawing}))
'''


def measure(repeats: int, batch_size: int = 32) -> dict:
    import statistics

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        CODE.replace("REPEATS", str(repeats)).replace("BATCH", str(batch_size)))]
    sys.path.insert(0, str(HERE.parent / "tests" / "notebooks"))
    from notebook_kernel import venv_kernel  # the kernel spec of this Python, as the tests use

    with venv_kernel() as name:
        NotebookClient(notebook, kernel_name=name, timeout=600).execute()
    text = "".join(o.get("text", "") for o in notebook.cells[0].outputs
                   if o.get("output_type") == "stream")
    raw = json.loads(text.split("RESULT", 1)[1].splitlines()[0])
    plain, live = statistics.median(raw["plain_s"]), statistics.median(raw["live_s"])
    return {"workload": f"digits 64-25-15-10, 30 epochs, batch {batch_size}, in a Jupyter kernel",
            "repeats": repeats, "plain_median_s": plain, "live_median_s": live,
            "overhead_paired_median": statistics.median(
                b / a for a, b in zip(raw["plain_s"], raw["live_s"], strict=True)) - 1,
            "overhead_of_fastest": min(raw["live_s"]) / min(raw["plain_s"]) - 1,
            "redraws_median": statistics.median(raw["redraws"]),
            "drawing_median_s": statistics.median(raw["drawing_s"]), "raw": raw}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--batch-size", type=int, default=32,
                        help="32: 57 steps an epoch, drawn at epoch ends; 4 or less: epochs "
                             "of 200+ steps, drawn per batch too")
    args = parser.parse_args(argv)
    result = measure(args.repeats, args.batch_size)
    print(f"fit without LiveView: {result['plain_median_s'] * 1e3:.1f} ms (median of "
          f"{args.repeats})")
    print(f"fit with LiveView:    {result['live_median_s'] * 1e3:.1f} ms "
          f"({result['redraws_median']:.0f} redraws, "
          f"{result['drawing_median_s'] * 1e3:.1f} ms drawing)")
    print(f"overhead: {result['overhead_paired_median']:+.1%} (median of paired ratios), "
          f"{result['overhead_of_fastest']:+.1%} (fastest against fastest)")
    suffix = "" if args.batch_size == 32 else f"-batch{args.batch_size}"
    out = HERE / "results" / f"live_view{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
