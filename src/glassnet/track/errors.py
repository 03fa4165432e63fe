"""Errors raised by glassnet.track: the engine's glassnet.errors, plus two of its own."""

from __future__ import annotations

from glassnet.errors import ConfigError, DataError, GlassnetError, NotFoundError


class StoreError(GlassnetError, OSError):
    """The store cannot be opened or used as asked (bad location, newer schema...)."""


class ValueTypeError(GlassnetError, TypeError):
    """An argument has the wrong type (a list where a dict of numbers was expected...)."""


__all__ = ["ConfigError", "DataError", "NotFoundError", "StoreError", "ValueTypeError"]
