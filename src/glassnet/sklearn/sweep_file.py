"""The sweep file of ``glassnet sweep``: TOML read and checked key by key, in one place.

As ``glassnet train`` does for its config, every key is checked before anything runs: an
unknown key, a value of the wrong type or out of range raises ConfigError naming the
file, the key, what was expected and what was given. The keys are described in
docs/sweeps.md and shown in examples/sweep_digits.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from glassnet._engine.config_checks import boolean as _bool
from glassnet._engine.config_checks import expected as _expected
from glassnet._engine.config_checks import integer as _int
from glassnet._engine.config_checks import one_of as _one_of
from glassnet._engine.config_checks import text as _text
from glassnet.errors import ConfigError

BACKENDS = ("loky", "dask", "threading", "sequential")
METHODS = ("grid", "random")

#: the file's keys and their defaults (dataset: "digits" when no csv is given)
DEFAULTS = {"project": None, "dataset": None, "csv": None, "target": None, "method": "grid",
            "n_iter": 10, "cv": 3, "n_jobs": 1, "backend": "loky", "scheduler": None,
            "n_workers": None, "fits_per_task": None, "seed": 0, "standardize": True,
            "fixed": {}, "params": None}


def read_sweep_file(path) -> dict:
    """The checked contents of a sweep file: every key of ``DEFAULTS``, defaults filled in."""
    path = Path(path)
    spec = _parse(path)
    source = str(path)
    unknown = sorted(set(spec) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid keys: "
                          f"{', '.join(sorted(DEFAULTS))}")
    checked = {**DEFAULTS, **{key: _CHECKS[key](source, key, value)
                              for key, value in spec.items()}}
    if checked["params"] is None:
        raise ConfigError(f"{source}: a [params] table of values to sweep is required")
    both = sorted(set(checked["fixed"]) & set(checked["params"]))
    if both:
        raise ConfigError(f"{source}: {both[0]!r} is in both [fixed] and [params]; a "
                          f"parameter is either fixed or swept, not both")
    if checked["csv"] is not None and checked["dataset"] is not None:
        raise ConfigError(f"{source}: give 'dataset' (a built-in data set) or 'csv', not both")
    if (checked["csv"] is None) != (checked["target"] is None):
        raise ConfigError(f"{source}: 'csv' needs 'target' (the column to predict), and "
                          f"'target' goes only with 'csv'")
    for key in ("scheduler", "n_workers", "fits_per_task"):
        if checked[key] is not None and checked["backend"] != "dask":
            raise ConfigError(f"{source}: '{key}' needs backend = \"dask\", got backend = "
                              f"{checked['backend']!r}")
    if checked["scheduler"] is not None and checked["n_workers"] is not None:
        raise ConfigError(f"{source}: 'n_workers' sizes the LocalCluster a sweep starts for "
                          f"itself; with 'scheduler' the cluster's own workers are used")
    if checked["csv"] is None and checked["dataset"] is None:
        checked["dataset"] = "digits"
    checked["project"] = checked["project"] or path.stem
    return checked


def _parse(path: Path) -> dict:
    if path.exists() and not path.is_file():  # /dev/zero would be read forever
        kind = "a directory" if path.is_dir() else "not a regular file (a device or a pipe?)"
        raise ConfigError(f"{path}: is {kind}, not a sweep file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such sweep file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: "
                          f"{exc.object[exc.start:exc.start + 1]!r}); TOML files are "
                          f"UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


# -- one check per key: each returns the value to use or raises ConfigError ------------




def _n_jobs(source, key, value):
    if isinstance(value, bool) or not isinstance(value, int) or value == 0 or value < -1:
        raise _expected(source, key, "a positive integer (parallel fits), or -1 for one per "
                        "core", value)
    return value






def _dataset(source, key, value):
    from glassnet import datasets
    from glassnet.errors import unknown_name

    if value not in datasets.names():
        raise ConfigError(f"{source}: {unknown_name('data set', value, datasets.names())}")
    return value




def _fixed(source, key, value):
    if not isinstance(value, dict):
        raise _expected(source, key, "a table ([fixed] with one value per parameter)", value)
    return {name: check_parameter(source, f"fixed.{name}", name, v)
            for name, v in value.items()}


def _params(source, key, value):
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{source}: a [params] table of values to sweep is required, got "
                          f"{key} = {value!r}")
    checked = {}
    for name, values in value.items():
        listed = values if isinstance(values, list) else [values]  # as sweep()'s params
        if not listed:
            raise _expected(source, f"params.{name}", "a non-empty list of values", values)
        checked[name] = [check_parameter(source, f"params.{name}", name, v) for v in listed]
    return checked


def check_parameter(source: str, where: str, name: str, value):
    """One estimator parameter's value, checked as ``glassnet train`` checks its keys.

    The value is returned as given (a sweep's trial keys hash the values as written).
    """
    _check_parameter(source, where, name, value)
    return value


def _check_parameter(source: str, where: str, name: str, value) -> None:
    from glassnet.apps.train_config import VALID_KEYS, check_value
    from glassnet.sklearn.sweeps import ESTIMATOR_PARAMS

    if name not in ESTIMATOR_PARAMS:
        raise ConfigError(f"{source}: unknown sweep parameter {name!r} ({where}); valid: "
                          f"{', '.join(sorted(ESTIMATOR_PARAMS))}")
    if name == "hidden":
        units = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(units, str):
            raise _expected(source, where, "a list of positive unit counts, e.g. [25, 15]",
                            value)
        check_value(source, "hidden", units, where)
    elif name in VALID_KEYS:
        check_value(source, name, value, where)
    elif name == "early_stopping":
        _bool(source, where, value)
    elif name == "patience":
        _int(0)(source, where, value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise _expected(source, where, "a number in (0, 1)", value)  # validation_fraction


_CHECKS = {
    "project": _text, "dataset": _dataset, "csv": _text, "target": _text,
    "method": _one_of(METHODS), "n_iter": _int(1), "cv": _int(2), "n_jobs": _n_jobs,
    "backend": _one_of(BACKENDS), "scheduler": _text, "n_workers": _int(1),
    "fits_per_task": _int(1), "seed": _int(0),
    "standardize": _bool, "fixed": _fixed, "params": _params,
}

__all__ = ["BACKENDS", "DEFAULTS", "METHODS", "check_parameter", "read_sweep_file"]
