"""Which samples each step of ``fit`` trains on, and when it validates, as Keras 3 does.

Keras 3 walks arrays in passes of ``ceil(n / batch_size)`` batches. Without
``steps_per_epoch`` every epoch is one pass (shuffled anew). With it, an epoch takes
the next ``steps_per_epoch`` batches of the current pass, so passes run across epoch
boundaries; when a pass runs out mid-epoch the epoch ends early (Keras warns "Your
input ran out of data") and the next epoch starts a new pass. ``validation_freq`` is
an int (validate after every k-th epoch, counting from 1) or a list of epochs
(1-based).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from glassnet.errors import ConfigError


class EpochBatches:
    """The batches of each epoch: ``(step, start, stop, order)`` per step.

    ``order`` is the pass's permutation of the samples (None without shuffling):
    the step trains on ``order[start:stop]``, or on ``start:stop`` itself.
    """

    def __init__(self, n: int, batch_size: int, steps_per_epoch, shuffle: bool, rng):
        if steps_per_epoch is not None and (
                isinstance(steps_per_epoch, bool)
                or not isinstance(steps_per_epoch, (int, np.integer)) or steps_per_epoch < 1):
            raise ConfigError(f"steps_per_epoch must be a positive int or None, got "
                              f"{steps_per_epoch!r}")
        self.n, self.batch_size = n, batch_size
        self.batches_per_pass = math.ceil(n / batch_size)
        self.steps_per_epoch = None if steps_per_epoch is None else int(steps_per_epoch)
        self.steps = self.steps_per_epoch or self.batches_per_pass
        self.shuffle, self.rng = shuffle, rng
        self._order: np.ndarray | None = None
        self._seen = 0          # batches of the current pass already trained on
        self._in_pass = False

    def epoch(self) -> list[tuple[int, int, int, np.ndarray | None]]:
        """The steps of the next epoch (fewer than ``steps`` when the pass runs out)."""
        if not self._in_pass or self.steps_per_epoch is None:
            self._start_pass()
        steps = []
        for step in range(self.steps):
            if self._seen >= self.batches_per_pass:
                warnings.warn(f"fit: the data ran out after {len(steps)} of "
                              f"steps_per_epoch={self.steps_per_epoch} steps "
                              f"({self.batches_per_pass} batches of {self.batch_size} "
                              f"make one pass over {self.n} samples); as in Keras, this "
                              f"epoch ends early and the next starts a new pass",
                              UserWarning, stacklevel=4)
                break
            start = self._seen * self.batch_size
            steps.append((step, start, min(start + self.batch_size, self.n), self._order))
            self._seen += 1
        if self._seen >= self.batches_per_pass:
            self._in_pass = False
        return steps

    def _start_pass(self) -> None:
        self._order = self.rng.permutation(self.n) if self.shuffle else None
        self._seen = 0
        self._in_pass = True


def check_validation_freq(validation_freq) -> None:
    if isinstance(validation_freq, bool) or not (
            (isinstance(validation_freq, numbers.Integral) and validation_freq >= 1)
            or (isinstance(validation_freq, (list, tuple)) and all(
                isinstance(e, numbers.Integral) and not isinstance(e, bool)
                for e in validation_freq))):
        raise ConfigError(f"validation_freq must be a positive int (validate every k-th "
                          f"epoch) or a list of epochs counted from 1, got "
                          f"{validation_freq!r}")


def should_validate(epoch: int, validation_freq) -> bool:
    """Whether to validate after ``epoch`` (0-based), as Keras's ``_should_eval``."""
    if isinstance(validation_freq, (list, tuple)):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0
