"""Built-in data sets, offline and deterministic, and CSV loading with clear errors.

- ``load_house_prices()``: the course lab's two houses (size in 1000 sqft -> price in $1000s).
- ``load_coffee()``: two features (roasting temperature in C, duration in minutes) and
  whether the roast is good: the course's coffee-roasting set, generated the same way.
- ``load_digits()``: scikit-learn's bundled 8x8 handwritten digits (1,797 images), shipped
  inside glassnet.
- ``load_fraud()``: an imbalanced, fraud-like tabular set (about 1% positives).
"""

from __future__ import annotations

import csv
import gzip
import math
from importlib import resources
from pathlib import Path

import numpy as np

from glassnet.errors import DataError, NotFoundError, unknown_name


def load_house_prices() -> tuple[np.ndarray, np.ndarray]:
    """X = [[1.0], [2.0]] (1000 sqft), y = [[300.0], [500.0]] ($1000s): w = 200, b = 100."""
    x = np.array([[1.0], [2.0]], dtype=np.float32)
    y = np.array([[300.0], [500.0]], dtype=np.float32)
    return x, y


def load_coffee(n_samples: int = 200, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Roasting (temperature C, duration min) -> good roast (1) or not (0), shape (n, 1).

    A roast is good inside the region 175 < t < 260, 12 < d < 15, d <= 21 - 3 t / 85.
    """
    rng = np.random.default_rng(seed)
    x = rng.random(2 * n_samples).reshape(-1, 2)
    x[:, 1] = x[:, 1] * 4 + 11.5
    x[:, 0] = x[:, 0] * (285 - 150) + 150
    t, d = x[:, 0], x[:, 1]
    good = (t > 175) & (t < 260) & (d > 12) & (d < 15) & (d <= -3 / (260 - 175) * t + 21)
    return x.astype(np.float32), good.astype(np.float32).reshape(-1, 1)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """8x8 digit images flattened to 64 pixel intensities (0-16), labels 0-9."""
    source = resources.files("glassnet").joinpath("data/digits.csv.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        data = np.loadtxt(text, delimiter=",")
    return data[:, :-1].astype(np.float32), data[:, -1].astype(np.int64)


FRAUD_FEATURES = ("amount", "hour", "merchant_risk", "distance_km", "account_age_days",
                  "n_tx_24h", "velocity", "foreign", "card_present", "v1")


def load_fraud(n_samples: int = 20000, positive_rate: float = 0.01,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Card transactions, about ``positive_rate`` fraudulent; features in their own units.

    Features (see ``FRAUD_FEATURES``) have very different scales on purpose (amount in
    dollars, distance in km, flags in {0, 1}), as real tabular data does.
    """
    rng = np.random.default_rng(seed)
    n_pos = max(1, int(round(n_samples * positive_rate)))
    y = np.zeros(n_samples, dtype=np.int64)
    y[rng.choice(n_samples, n_pos, replace=False)] = 1
    fraud = y == 1
    x = np.empty((n_samples, len(FRAUD_FEATURES)))
    x[:, 0] = np.exp(rng.normal(3.5, 1.0, n_samples) + fraud * rng.normal(1.5, 0.6, n_samples))
    x[:, 1] = np.where(fraud, rng.normal(3, 3, n_samples), rng.normal(14, 4, n_samples)) % 24
    x[:, 2] = np.clip(rng.beta(2, 8, n_samples) + fraud * 0.35, 0, 1)
    x[:, 3] = rng.exponential(15, n_samples) * (1 + 8 * fraud)
    x[:, 4] = rng.exponential(900, n_samples) * (1 - 0.7 * fraud) + 1
    x[:, 5] = rng.poisson(2 + 4 * fraud)
    x[:, 6] = x[:, 5] / (1 + rng.exponential(5, n_samples))
    x[:, 7] = rng.random(n_samples) < (0.05 + 0.45 * fraud)
    x[:, 8] = rng.random(n_samples) < (0.7 - 0.5 * fraud)
    x[:, 9] = rng.normal(0, 1, n_samples)  # pure noise: importance should find it useless
    return x.astype(np.float32), y


_BUILT_IN = {"house_prices": load_house_prices, "coffee": load_coffee,
             "digits": load_digits, "fraud": load_fraud}


def load(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set by name: ``"digits"``, ``"coffee"``, ``"fraud"``, ``"house_prices"``."""
    if name not in _BUILT_IN:
        raise unknown_name("data set", name, _BUILT_IN)
    return _BUILT_IN[name]()


def names() -> list[str]:
    return sorted(_BUILT_IN)


def load_csv(path, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a numeric CSV with a header row: (X, y, feature_names), y from column ``target``.

    Errors name the file and say what is wrong: a missing file, a directory or device,
    text that is not UTF-8, an empty file, no such column, a field longer than
    ``MAX_CSV_FIELD`` characters, a value that is not a number, a missing value, or a
    value beyond float32's range (the dtype the network trains in).
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"{path}: no such CSV file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a CSV file")
    if not path.is_file():
        raise DataError(f"{path}: is not a regular file (a device or a pipe?); give a CSV file")
    rows = _read_rows(path)
    rows = [row for row in rows if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the file is empty (expected a header row and data rows)")
    header = [cell.strip() for cell in rows[0]]
    if target not in header:
        raise DataError(f"{path}: no column named {target!r}; columns: {', '.join(header)}")
    if len(rows) < 2:
        raise DataError(f"{path}: the file has a header but no data rows")
    values = np.empty((len(rows) - 1, len(header)))
    limit = float(np.finfo(np.float32).max)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: line {i} has {len(row)} values, the header has "
                            f"{len(header)}")
        for j, cell in enumerate(row):
            cell = cell.strip()
            try:
                number = float(cell) if cell else math.nan
            except ValueError:
                raise DataError(f"{path}: line {i}, column {header[j]!r}: {cell!r} is not a "
                                f"number") from None
            if math.isnan(number) or math.isinf(number):
                raise DataError(f"{path}: line {i}, column {header[j]!r} is missing or not "
                                f"finite ({cell!r}); fill or drop such rows first")
            if abs(number) > limit:
                raise DataError(f"{path}: line {i}, column {header[j]!r}: {cell} is beyond "
                                f"float32's range (|x| <= {limit:.3g}); rescale the column")
            values[i - 2, j] = number
    column = header.index(target)
    features = [name for k, name in enumerate(header) if k != column]
    x = np.delete(values, column, axis=1).astype(np.float32)
    return x, values[:, column], features


MAX_CSV_FIELD = csv.field_size_limit()  # 131,072 characters: Python's own default


def _first_non_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is, as 'line N, byte B: b'\\xe9''."""
    # The decoder's own offset counts from the start of its chunk, not of the file.
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number}, byte {exc.start + 1}: {line[exc.start:exc.start + 1]!r}"
    return "an incomplete character at the end"


def _read_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV file, or a DataError naming the file, the line and the problem."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            try:
                return list(reader)
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num}: not a valid CSV row "
                                f"({exc}; a field may hold at most {MAX_CSV_FIELD:,} "
                                f"characters)") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text ({_first_non_utf8(path)}); save the CSV "
                        f"as UTF-8") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None


__all__ = ["FRAUD_FEATURES", "load", "load_coffee", "load_csv", "load_digits", "load_fraud",
           "load_house_prices", "names"]
