"""The statistics process's side (``python -m glassnet.track.stats_worker``).

It reads one job per line from stdin -- ``{"job": id, "path": shared set, "layout":
..., "m": rows, "histograms": bool}`` -- maps the set (once per path), summarises its
first ``m`` rows in place (:func:`glassnet.track.batch_stats.summarise`) and answers
``{"job": id, "irregular": bool}`` (or ``"error"``) on stdout. ``{"forget": path}``
drops a mapping. It ends when stdin closes: when the process that started it ends,
however it ends.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from glassnet.track.batch_stats import summarise
    from glassnet.track.kept_steps import KeptSteps, Layout
    from glassnet.track.paramstats import FlatStats

    sets: dict[str, tuple] = {}
    stats: dict[tuple, FlatStats] = {}
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        message = json.loads(line)
        path = message.get("forget")
        if path is not None:
            sets.pop(path, None)
            continue
        try:
            path = message["path"]
            if path not in sets:
                layout = Layout.from_json(message["layout"])
                sets[path] = (KeptSteps.attach(path, layout), layout)
            kept, layout = sets[path]
            key = (layout.sizes, layout.rows)
            if layout.n and key not in stats:
                stats[key] = FlatStats(list(layout.sizes), layout.rows)
            irregular = summarise(kept, int(message["m"]), stats.get(key),
                                  bool(message["histograms"]))
            answer = {"job": message["job"], "irregular": irregular}
        except Exception as exc:  # the parent summarises this set itself
            answer = {"job": message.get("job"), "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
