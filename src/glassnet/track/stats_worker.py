"""The statistics process's side (``python -m glassnet.track.stats_worker``).

It reads jobs, one JSON line each, from stdin -- ``{"job": id, "path": shared set,
"layout": ..., "m": rows, "histograms": bool, "store": address, "run": id, "paths":
[...], "update_share": [...], "unit_index": [...]}`` -- maps the set (once per path;
a set reused by the next watch brings that watch's names) and summarises its first
``m`` rows in place (:func:`glassnet.track.batch_stats.summarise`). It writes their
rows -- parameter statistics and histograms, layer timings and unit shares, the logs'
metrics -- into the run through its own handle on the store (at most a few open). It
takes the lines that have come at once, commits their rows together, and only then
answers each job, ``{"job": id}`` on stdout: an answered job's rows are in the store;
one answered ``"error"``, or left unanswered by a process that died, the sender does
itself. The sender's own writer writes only the small rows (losses, epochs), so the
two rarely meet at SQLite's write lock. ``{"forget": path}`` drops a mapping. It ends
when stdin closes: when the process that started it ends, however it ends.
"""

from __future__ import annotations

import json
import os
import sys
from collections import OrderedDict

_OPEN_STORES = 4  # stores it keeps open (a test suite opens hundreds, one run each)


def main() -> None:
    from glassnet.track.batch_stats import logged_steps, summarise
    from glassnet.track.kept_steps import KeptSteps, Layout
    from glassnet.track.observe import write_blocks
    from glassnet.track.paramstats import FlatStats
    from glassnet.track.store import open_store

    sets: dict[str, tuple] = {}
    flat_stats: dict[tuple, FlatStats] = {}
    stores: OrderedDict[str, object] = OrderedDict()

    def run(message: dict) -> dict:
        path, text = message["path"], message["layout"]
        if path not in sets:
            sets[path] = (KeptSteps.attach(path, Layout.from_json(text)), text)
        kept, known = sets[path]
        if text != known:  # the set reused by the next watch: its names, the same shapes
            kept.relabel(Layout.from_json(text))
            sets[path] = (kept, text)
        layout = kept.layout
        key = (layout.sizes, layout.rows)
        if layout.n and key not in flat_stats:
            flat_stats[key] = FlatStats(list(layout.sizes), layout.rows)
        m, histograms = int(message["m"]), bool(message["histograms"])
        irregular = summarise(kept, m, flat_stats.get(key), histograms)
        address = message["store"]
        if address in stores:
            stores.move_to_end(address)
        else:
            stores[address] = open_store(address)
            while len(stores) > _OPEN_STORES:  # the least recently used: closed
                _, old = stores.popitem(last=False)
                try:
                    old.close()  # every round's rows were committed before its answers
                except Exception:  # noqa: BLE001 - nothing of an answered job is lost
                    pass
        rows = logged_steps(kept, m, irregular, histograms, message["update_share"],
                            message["unit_index"])
        write_blocks(stores[address], message["run"], message["paths"], list(layout.layers),
                     rows)
        return {"job": message["job"]}

    try:  # batch work (Linux): a job line never preempts the training that sent it
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    pending = b""
    while True:
        chunk = os.read(sys.stdin.fileno(), 1 << 16)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        answers = []
        for line in lines:
            message = json.loads(line)
            if "forget" in message:
                sets.pop(message["forget"], None)
                continue
            try:
                answers.append(run(message))
            except Exception as exc:  # the sending process summarises this set itself
                answers.append({"job": message.get("job"), "error": _describe(exc)})
        try:
            for store in stores.values():
                store.flush()  # the round's rows committed before any is answered
        except Exception as exc:  # noqa: BLE001 - the sender writes them itself
            answers = [a if "error" in a else {"job": a["job"], "error": _describe(exc)}
                       for a in answers]
        if answers:
            out.write("".join(json.dumps(a) + "\n" for a in answers))
            out.flush()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    main()
