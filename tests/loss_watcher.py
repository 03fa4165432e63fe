"""A minimal watcher for tests: it keeps each step's batch loss, as fit offers it."""

from __future__ import annotations

import glassnet as gn
from glassnet._engine.observing import Ask


class BatchLosses(gn.callbacks.Callback):
    """A watcher (glassnet._engine.observing) keeping each step's batch loss."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def observe_begin(self, observed):
        return Ask.NOTHING

    def observe_step(self, step, loss, logs, observed):
        self.losses.append(loss)
        return Ask.NOTHING
