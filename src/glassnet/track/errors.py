"""Errors raised by glassnet.track (all defined in glassnet.errors)."""

from __future__ import annotations

from glassnet.errors import ConfigError, DataError, NotFoundError, StoreError, ValueTypeError

__all__ = ["ConfigError", "DataError", "NotFoundError", "StoreError", "ValueTypeError"]
