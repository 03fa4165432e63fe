"""Errors raised by glassnet.track."""

from __future__ import annotations


class StoreError(OSError):
    """The store cannot be opened or used as asked (bad location, newer schema...)."""


class NotFoundError(LookupError, ValueError):
    """A run, snapshot, model version or alias that the store does not hold."""
