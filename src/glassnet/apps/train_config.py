"""The training config of ``glassnet train``: a TOML file or flags, checked in one place.

A config file is flat TOML; every key is optional except the data (``dataset``, or
``data`` with ``target``)::

    dataset = "digits"          # or: data = "houses.csv"  and  target = "price"
    hidden = [25, 15]
    activation = "relu"
    optimizer = "adam"
    learning_rate = 0.001
    batch_size = 32
    epochs = 30
    validation_split = 0.2
    seed = 0
    project = "digits"

An unknown key, a value of the wrong type or out of range raises ConfigError naming
the key, what was expected and what was given, and listing the valid keys.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from glassnet import activations, datasets, optimizers
from glassnet._engine.config_checks import boolean as _bool
from glassnet._engine.config_checks import expected as _expected
from glassnet._engine.config_checks import integer as _int
from glassnet._engine.config_checks import text as _text
from glassnet.errors import ConfigError, NotFoundError, unknown_name

TASKS = ("auto", "binary", "classification", "regression")


@dataclass
class TrainConfig:
    """Everything ``glassnet train`` needs: where the data is, the network, the training."""

    dataset: str | None = None
    data: str | None = None
    target: str | None = None
    task: str = "auto"
    hidden: tuple[int, ...] = (25, 15)
    activation: str = "relu"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 30
    validation_split: float = 0.2  # held out by default: a figure not on the training rows
    seed: int = 0
    standardize: bool = True
    log_freq: int = 10
    project: str | None = None
    name: str | None = None
    save: str | None = None
    tags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The config as plain JSON-able values (what a run records)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out


VALID_KEYS = tuple(sorted(f.name for f in dataclasses.fields(TrainConfig)))


def load_config(path) -> dict:
    """Read a TOML training config file into a dict (checked later by :func:`make_config`)."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path}: no such config file")
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file (a device or a pipe?)"
        raise ConfigError(f"{path}: is {kind}, not a TOML config file")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: "
                          f"{exc.object[exc.start:exc.start + 1]!r}); TOML files are "
                          f"UTF-8") from None


def make_config(values: dict, source: str = "train config") -> TrainConfig:
    """Check ``values`` key by key and build a :class:`TrainConfig`; ``source`` names them."""
    unknown = sorted(set(values) - set(VALID_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}. Valid keys: "
                          f"{', '.join(VALID_KEYS)}")
    checked = {key: _CHECKS[key](source, key, value) for key, value in values.items()}
    config = TrainConfig(**checked)
    if (config.dataset is None) == (config.data is None):
        given = "both" if config.dataset else "neither"
        raise ConfigError(f"{source}: give exactly one of 'dataset' (a built-in data set: "
                          f"{', '.join(datasets.names())}) or 'data' (a CSV file); got {given}")
    if config.data is not None and config.target is None:
        raise ConfigError(f"{source}: 'data' = {config.data!r} needs 'target', the name of "
                          f"the column to predict")
    if config.dataset is not None and config.target is not None:
        raise ConfigError(f"{source}: 'target' goes with 'data' (a CSV file), not with "
                          f"'dataset' = {config.dataset!r}")
    return config


def check_value(source: str, key: str, value, shown_as: str | None = None):
    """One key's value checked; errors name it ``shown_as`` (the sweep file's
    ``params.epochs``) or ``key``."""
    return _CHECKS[key](source, shown_as or key, value)


# -- one check per key: each returns the value to use or raises ConfigError ------------






def _optional_text(source, key, value):
    return None if value is None else _text(source, key, value)


def _learning_rate(source, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise _expected(source, key, "a positive number", value)
    return float(value)


def _validation_split(source, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value < 1.0:
        raise _expected(source, key, "a number in [0, 1)", value)
    return float(value)


def _hidden(source, key, value):
    """A list of unit counts, or the flag's text form ``"25,15"`` (``""`` = no hidden layer)."""
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise _expected(source, key, "units per hidden layer, e.g. 25,15", value) from None
    if not isinstance(value, (list, tuple)) or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise _expected(source, key, "a list of positive unit counts, e.g. [25, 15]", value)
    return tuple(value)


def _activation(source, key, value):
    if value not in activations.ACTIVATIONS or value == "softmax":
        valid = [n for n in activations.ACTIVATIONS if n != "softmax"]
        raise ConfigError(f"{source}: {unknown_name('activation', value, valid)}")
    return value


def _optimizer(source, key, value):
    if not isinstance(value, str) or value.lower() not in optimizers.OPTIMIZERS:
        raise ConfigError(f"{source}: {unknown_name('optimizer', value, optimizers.OPTIMIZERS)}")
    return value.lower()


def _dataset(source, key, value):
    if value is not None and value not in datasets.names():
        raise ConfigError(f"{source}: {unknown_name('data set', value, datasets.names())}")
    return value


def _task(source, key, value):
    if value not in TASKS:
        raise _expected(source, key, f"one of {', '.join(TASKS)}", value)
    return value




def _tags(source, key, value):
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise _expected(source, key, "a list of strings", value)
    return list(value)


_CHECKS = {
    "dataset": _dataset, "data": _optional_text, "target": _optional_text, "task": _task,
    "hidden": _hidden, "activation": _activation, "optimizer": _optimizer,
    "learning_rate": _learning_rate, "batch_size": _int(1), "epochs": _int(1),
    "validation_split": _validation_split, "seed": _int(0), "standardize": _bool,
    "log_freq": _int(1), "project": _optional_text, "name": _optional_text,
    "save": _optional_text, "tags": _tags,
}

__all__ = ["TASKS", "VALID_KEYS", "TrainConfig", "load_config", "make_config"]
