"""Checks of one config key each, shared by ``glassnet train``'s and ``glassnet sweep``'s files.

Each check takes ``(source, key, value)`` and returns the value to use, or raises a
:class:`~glassnet.errors.ConfigError` naming the file (``source``), the key, what was
expected and what was given.
"""

from __future__ import annotations

from glassnet.errors import ConfigError


def expected(source, key, what, value) -> ConfigError:
    return ConfigError(f"{source}: {key!r} must be {what}, got {value!r}")


def integer(low: int):
    """An int (not a bool) of at least ``low``."""
    def check(source, key, value):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise expected(source, key, what, value)
        return value
    return check


def text(source, key, value):
    if not isinstance(value, str) or not value.strip():
        raise expected(source, key, "a non-empty string", value)
    return value


def one_of(choices):
    def check(source, key, value):
        if value not in choices:
            raise expected(source, key, f"one of {', '.join(map(repr, choices))}", value)
        return value
    return check


def boolean(source, key, value):
    if not isinstance(value, bool):
        raise expected(source, key, "true or false", value)
    return value
