"""The exceptions glassnet raises for user mistakes and bad files.

Every public error is one of these. Each subclasses the built-in exception a Python
user would catch (ValueError, TypeError, LookupError, ImportError), so
``except ValueError`` keeps working, and each message names the thing, what was
expected and what was given.
"""

from __future__ import annotations

from collections.abc import Iterable


class GlassnetError(Exception):
    """Base class of every error glassnet raises on purpose."""


class ConfigError(GlassnetError, ValueError):
    """A hyperparameter or setting has an invalid value."""


class UnknownNameError(ConfigError):
    """A string name (activation, loss, optimizer...) is not one glassnet knows."""


class ShapeError(GlassnetError, ValueError):
    """An array has the wrong shape for the layer or model it is given to."""


class DataError(GlassnetError, ValueError):
    """Input data is unusable: NaN or inf, mismatched lengths, labels out of range."""


class NotCompiledError(GlassnetError, RuntimeError):
    """A model was asked to train or evaluate before ``compile()``."""


class NotBuiltError(GlassnetError, RuntimeError):
    """A layer or model was asked for its weights before they exist."""


class NonFiniteLossError(GlassnetError, ArithmeticError):
    """Training ended with a NaN or infinite loss (``glassnet train`` and ``sweep``)."""


class FileFormatError(GlassnetError, ValueError):
    """A file is missing, truncated, not of the expected format, or tampered with."""


class NotFoundError(GlassnetError, LookupError):
    """A run, model, dataset or layer that was asked for does not exist."""


class ValueTypeError(GlassnetError, TypeError):
    """An argument has the wrong type (a list where a Layer or a dict was expected...)."""


class StoreError(GlassnetError, OSError):
    """A run store cannot be opened or used as asked (bad location, newer schema...)."""


class MissingDependencyError(GlassnetError, ImportError):
    """An optional dependency is not installed."""


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown name, listing the valid names sorted."""
    return UnknownNameError(
        f"Unknown {kind} {name!r}. Valid {kind} names: {', '.join(sorted(valid))}."
    )


def require(module: str, extra: str):
    """Import an optional dependency, or say which extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is needed for this and is not installed: "
            f"pip install 'glassnet[{extra}]'"
        ) from exc


class FilterError(ConfigError):
    """A run filter or sort order (``store.search_runs``, ``glassnet runs --filter``) is
    malformed; ``column`` is the 1-based position in the text where it went wrong."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message if column is None else f"at column {column}: {message}")
        self.column = column
