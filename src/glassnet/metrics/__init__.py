"""Metrics: stateful, as Keras's (``update_state``, ``result``, ``reset_state``).

Each metric accumulates over the batches it is given until ``reset_state()``;
``fit`` resets every metric at the start of each epoch, and ``evaluate`` at its
start, so no number carries over from one call to the next. ``result()`` answers
``.numpy()`` as in TF. Strings resolve as Keras: ``"accuracy"`` becomes binary,
categorical or sparse categorical accuracy by the loss and the output size.

One module a kind: ``base`` (Metric, Mean, MeanMetricWrapper), ``accuracy``,
``regression`` (errors and cross-entropies), ``confusion`` (counts, Precision,
Recall, AUC).
"""

from __future__ import annotations

from glassnet._engine.resolve import resolve, serialize
from glassnet.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from glassnet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum
from glassnet.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from glassnet.metrics.regression import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
)

METRICS = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError,
    "logcosh": LogCoshError, "kl_divergence": KLDivergence,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "precision": Precision, "recall": Recall, "auc": AUC,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
}


def get(identifier, loss=None, output_units: int | None = None) -> Metric:
    """Resolve a metric; ``"accuracy"`` picks its kind from the loss and output size."""
    if identifier in ("accuracy", "acc"):
        return _accuracy_kind(loss, output_units)(name="accuracy")
    from glassnet import losses

    if isinstance(identifier, losses.Loss):
        # Keras takes a loss object as a metric: the mean of its value per batch, named
        # as the loss is (the overfitting tutorial's BinaryCrossentropy(name=...)).
        return MeanMetricWrapper(lambda y_true, y_pred: float(identifier(y_true, y_pred)),
                                 name=identifier.name)
    # A metric asked for by its short name reports under that name ("mae", "auc").
    return resolve(identifier, kind="metric", base=Metric, names=METRICS,
                   make=lambda cls, name: cls(name=name))


def _accuracy_kind(loss, output_units):
    from glassnet import losses

    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return SparseCategoricalAccuracy
    if isinstance(loss, losses.CategoricalCrossentropy):
        return CategoricalAccuracy
    if isinstance(loss, losses.BinaryCrossentropy) or output_units == 1:
        return BinaryAccuracy
    return CategoricalAccuracy if output_units and output_units > 1 else Accuracy


__all__ = ["AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
           "CategoricalCrossentropy", "FalseNegatives", "FalsePositives", "KLDivergence",
           "LogCoshError", "METRICS", "Mean", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "MeanMetricWrapper", "MeanSquaredError",
           "MeanSquaredLogarithmicError", "Metric", "Precision", "Recall",
           "RootMeanSquaredError", "SparseCategoricalAccuracy",
           "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "Sum",
           "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives", "get", "serialize"]
