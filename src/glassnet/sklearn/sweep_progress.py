"""A sweep's progress on the client: fits done of all, failures, the best trial so far.

One line of at most 79 characters: redrawn in place on a terminal, and on other
streams (a log file, CI) written out at every tenth of the sweep, at every failure
and at the end, so a log does not get one line per fit of a long sweep.
"""

from __future__ import annotations

import sys

import numpy as np

WIDTH = 79


class Progress:
    """``update(result)`` after each fit (a dict of sweeps._fit_one); ``close()`` at the end."""

    def __init__(self, sweep_id: str, total: int, cv: int, finished=(), stream=None):
        self.sweep_id, self.total, self.cv = sweep_id, total, cv
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.scores: dict[int, list[float]] = {}
        self.done = self.failed = 0
        self._every = max(1, total // 10)
        self._drawn = False
        for result in finished:  # resumed: fits recorded before count as done
            self._count(result)

    def _count(self, result: dict) -> None:
        self.done += 1
        if result.get("error") is not None:
            self.failed += 1
        else:
            self.scores.setdefault(result["trial"], []).append(result["score"])

    def best(self) -> tuple[int, float] | None:
        """(trial, mean CV score) of the best trial whose folds have all finished."""
        complete = [(float(np.mean(s)), t) for t, s in self.scores.items()
                    if len(s) == self.cv]
        if not complete:
            return None
        score, trial = max(complete)
        return trial, score

    def line(self) -> str:
        best = self.best()
        text = (f"sweep {self.sweep_id}: {self.done}/{self.total} fits"
                + (f", {self.failed} failed" if self.failed else "")
                + (f", best cv {best[1]:.4f} (trial {best[0]})" if best else ""))
        return text[:WIDTH]

    def update(self, result: dict) -> None:
        self._count(result)
        if self.tty:
            self.stream.write("\r" + self.line().ljust(WIDTH))
            self._drawn = True
        elif (self.done % self._every == 0 or self.done == self.total
              or result.get("error") is not None):
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


__all__ = ["Progress", "WIDTH"]
