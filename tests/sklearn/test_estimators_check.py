"""scikit-learn's own estimator checks, run on both estimators."""

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet.sklearn import GlassClassifier, GlassRegressor

# Small networks and few epochs keep the ~50 checks fast; the checks' accuracy bars
# (e.g. > 0.83 on blobs, R^2 > 0.5) still have to be met.
ESTIMATORS = [GlassClassifier(hidden=(16,), epochs=60, learning_rate=1e-2, random_state=0),
              GlassRegressor(hidden=(16,), epochs=100, learning_rate=1e-2, random_state=0)]


@pytest.mark.slow
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        # scikit-learn's checks raise and inspect their own warnings.
        warnings.simplefilter("default")
        check(estimator)
