"""Built-in data sets (offline, deterministic) and CSV loading with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import datasets
from glassnet.errors import DataError, NotFoundError, UnknownNameError


def test_house_prices_are_the_course_lab_data():
    x, y = datasets.load_house_prices()
    np.testing.assert_array_equal(x, [[1.0], [2.0]])
    np.testing.assert_array_equal(y, [[300.0], [500.0]])


def test_digits_equal_scikit_learns_bundled_digits():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    x, y = datasets.load_digits()
    reference = sk_datasets.load_digits()
    assert x.shape == (1797, 64) and y.shape == (1797,)
    np.testing.assert_array_equal(x, reference.data)
    np.testing.assert_array_equal(y, reference.target)


def test_coffee_is_deterministic_two_features_and_binary():
    x, y = datasets.load_coffee()
    x2, y2 = datasets.load_coffee()
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert x.shape == (200, 2) and y.shape == (200, 1)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert 150 <= x[:, 0].min() and x[:, 0].max() <= 285  # temperature, C
    assert 11.5 <= x[:, 1].min() and x[:, 1].max() <= 15.5  # duration, minutes
    # The labelling rule of the docstring, checked independently.
    t, d = x[:, 0], x[:, 1]
    good = (t > 175) & (t < 260) & (d > 12) & (d < 15) & (d <= 21 - 3 * t / 85)
    np.testing.assert_array_equal(y.ravel(), good.astype(np.float32))
    assert 0.1 < y.mean() < 0.5


def test_fraud_is_imbalanced_at_about_one_percent_and_deterministic():
    x, y = datasets.load_fraud()
    assert x.shape == (20000, len(datasets.FRAUD_FEATURES)) and y.shape == (20000,)
    assert y.mean() == pytest.approx(0.01, abs=0.002)
    np.testing.assert_array_equal(datasets.load_fraud()[0], x)
    assert np.isfinite(x).all()
    # The signal is real: fraudulent amounts are larger on average.
    assert x[y == 1, 0].mean() > 2 * x[y == 0, 0].mean()


def test_load_by_name_and_unknown_names():
    assert datasets.names() == ["coffee", "digits", "fraud", "house_prices"]
    np.testing.assert_array_equal(datasets.load("house_prices")[1], [[300.0], [500.0]])
    with pytest.raises(UnknownNameError, match="Unknown data set 'iris'. Valid data set "
                                               "names: coffee, digits, fraud, house_prices."):
        datasets.load("iris")


def test_load_csv_reads_features_target_and_names(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text("size,price,rooms\n1.0,300,2\n2.0,500,3\n")
    x, y, names = datasets.load_csv(path, target="price")
    np.testing.assert_array_equal(x, [[1.0, 2.0], [2.0, 3.0]])
    np.testing.assert_array_equal(y, [300.0, 500.0])
    assert names == ["size", "rooms"]


@pytest.mark.parametrize("content, fragment", [
    ("", "the file is empty"),
    ("a,price\n", "the file has a header but no data rows"),
    ("a,b\n1,2\n", "no column named 'price'; columns: a, b"),
    ("a,price\n1,x\n", "line 2, column 'price': 'x' is not a number"),
    ("a,price\n1,\n", "line 2, column 'price' is missing or not finite"),
    ("a,price\n1,2,3\n", "line 2 has 3 values, the header has 2"),
])
def test_load_csv_errors_name_the_file_and_the_problem(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=fragment):
        datasets.load_csv(path, target="price")


def test_load_csv_missing_file(tmp_path):
    with pytest.raises(NotFoundError, match="no such CSV file"):
        datasets.load_csv(tmp_path / "absent.csv", target="y")
