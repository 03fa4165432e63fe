"""Metrics from confusion counts: TruePositives... Precision, Recall, AUC.

As Keras: a label counts as positive when it is nonzero, a prediction when it is
above the threshold (0.5 unless ``thresholds=`` says otherwise, a float or a list);
a list of thresholds gives a result per threshold. ``AUC`` counts at
``num_thresholds`` evenly spaced thresholds (plus -eps and 1 + eps) by bucketing the
scores once, as Keras does, and sums the ROC or precision-recall curve over them.
"""

from __future__ import annotations

import numpy as np

from glassnet.backend import epsilon
from glassnet.errors import ConfigError, unknown_name
from glassnet.metrics.base import Metric, same_rank
from glassnet.tensor import as_result

NEG_INF = -1e10  # what top_k gives the scores outside the top k, as Keras


def _thresholds(owner: str, thresholds, default: float) -> list[float]:
    values = [default] if thresholds is None else (
        list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds])
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                (thresholds is not None and not 0.0 <= float(value) <= 1.0):
            raise ConfigError(f"{owner} thresholds must be numbers in [0, 1], got "
                              f"{thresholds!r}")
    return [float(v) for v in values]


def _evenly_spaced(thresholds) -> bool:
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1),
                                  atol=epsilon())


def _unique(class_name: str) -> str:
    """As Keras names these metrics when not told: ``auc``, then ``auc_1``... (so two in
    one model keep apart); ``utils.clear_session()`` starts the count again."""
    from glassnet._engine.resolve import snake_case
    from glassnet.layers.base import unique_name

    return unique_name("auc" if class_name == "AUC" else snake_case(class_name))


def _divide(a, b):
    """a / b, 0 where b is 0 (Keras's divide_no_nan)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _broadcast_weights(sample_weight, shape) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    w = w.reshape(w.shape + (1,) * (len(shape) - w.ndim))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        from glassnet.errors import ShapeError

        raise ShapeError(f"sample_weight of shape {np.shape(sample_weight)} does not fit "
                         f"predictions of shape {shape}") from None


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, *, evenly=False,
                     top_k=None, class_id=None, label_weights=None) -> dict:
    """tp, fp, tn, fn at each threshold (arrays of len(thresholds)), as Keras counts them."""
    y_true, y_pred = same_rank(np.asarray(y_true), np.asarray(y_pred, dtype=np.float32))
    w = _broadcast_weights(sample_weight, y_pred.shape)
    if top_k is not None:
        kth = -np.sort(-y_pred, axis=-1)[..., top_k - 1:top_k]
        y_pred = np.where(y_pred >= kth, y_pred, np.float32(NEG_INF))
    if class_id is not None:
        if y_pred.ndim < 2:
            raise ConfigError(f"class_id needs predictions of shape (n, classes), got "
                              f"{y_pred.shape}")
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        w = None if w is None else w[..., class_id]
    if label_weights is not None:
        lw = np.broadcast_to(np.asarray(label_weights, np.float64), y_pred.shape)
        w = lw if w is None else w * lw
    scores = y_pred.reshape(-1)
    n = len(thresholds)
    if w is None and not evenly:  # fit's usual case: count, without a weight per sample
        labels = np.asarray(y_true).reshape(-1) != 0
        above = scores[None, :] > np.asarray(thresholds, dtype=np.float32)[:, None]
        # (count_nonzero over an axis costs microseconds more than over all, per call)
        tp = np.array([float(np.count_nonzero(row & labels)) for row in above])
        fp = np.array([float(np.count_nonzero(row)) for row in above]) - tp
        positives = float(np.count_nonzero(labels))
        return {"tp": tp, "fp": fp, "tn": (labels.size - positives) - fp,
                "fn": positives - tp}
    w = np.ones(scores.shape) if w is None else np.ascontiguousarray(w).reshape(-1)
    if evenly:
        # One pass: the bucket of each score is the number of thresholds below it, so
        # a reversed cumulative sum of the buckets counts "score > threshold_i".
        labels = np.asarray(y_true, dtype=np.float64).reshape(-1)
        bucket = np.ceil(scores * np.float32(n - 1)) - 1
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
            bucket = np.maximum(bucket, 0)
        keep = bucket >= 0
        bucket = np.minimum(bucket, n - 1).astype(np.intp)[keep]
        positive, negative = (labels * w), ((1.0 - labels) * w)
        tp = np.bincount(bucket, positive[keep], n)[::-1].cumsum()[::-1]
        fp = np.bincount(bucket, negative[keep], n)[::-1].cumsum()[::-1]
        total_positive, total_negative = positive.sum(), negative.sum()
    else:
        labels = (np.asarray(y_true).reshape(-1) != 0)
        above = scores[None, :] > np.asarray(thresholds, dtype=np.float32)[:, None]
        tp = (above & labels) @ w
        fp = (above & ~labels) @ w
        total_positive, total_negative = w[labels].sum(), w[~labels].sum()
    return {"tp": tp, "fp": fp, "tn": total_negative - fp, "fn": total_positive - tp}


class _CountsByThreshold:
    """The four counts as Keras names them, one value per threshold."""

    @property
    def true_positives(self):
        return self.state["tp"]

    @property
    def false_positives(self):
        return self.state["fp"]

    @property
    def true_negatives(self):
        return self.state["tn"]

    @property
    def false_negatives(self):
        return self.state["fn"]


class _Counts(_CountsByThreshold, Metric):
    """Accumulated confusion counts at one or more thresholds."""

    counts: tuple[str, ...] = ("tp", "fp", "tn", "fn")

    def __init__(self, thresholds=None, name=None, dtype=None, top_k=None, class_id=None):
        default = 0.5 if top_k is None else NEG_INF
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or top_k < 1):
            raise ConfigError(f"top_k must be a positive int, got {top_k!r}")
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(type(self).__name__, thresholds, default)
        self._evenly = _evenly_spaced(self.thresholds)
        self.top_k, self.class_id = top_k, class_id
        super().__init__(name=name or _unique(type(self).__name__), dtype=dtype)

    def reset_state(self) -> None:
        self.state = {key: np.zeros(len(self.thresholds)) for key in self.counts}

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  evenly=self._evenly, top_k=self.top_k,
                                  class_id=self.class_id)
        for key in self.counts:
            self.state[key] += counts[key]

    def value(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self):
        value = self.value()
        return as_result(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {"name": self.name, "thresholds": self.init_thresholds}


def _count_metric(class_name: str, key: str, what: str):
    def __init__(self, thresholds=None, name=None, dtype=None):
        _Counts.__init__(self, thresholds=thresholds, name=name, dtype=dtype)

    return type(class_name, (_Counts,), {
        "__init__": __init__, "counts": (key,), "value": lambda self: self.state[key],
        "__doc__": f"The (weighted) number of {what}, at threshold 0.5 or ``thresholds``."})


TruePositives = _count_metric("TruePositives", "tp", "positives predicted positive")
FalsePositives = _count_metric("FalsePositives", "fp", "negatives predicted positive")
TrueNegatives = _count_metric("TrueNegatives", "tn", "negatives predicted negative")
FalseNegatives = _count_metric("FalseNegatives", "fn", "positives predicted negative")


class Precision(_Counts):
    """tp / (tp + fp) at threshold 0.5 (0 when nothing is predicted positive)."""

    counts = ("tp", "fp")

    def value(self):
        return _divide(self.state["tp"], self.state["tp"] + self.state["fp"])

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class Recall(_Counts):
    """tp / (tp + fn) at threshold 0.5 (0 when there are no positives)."""

    counts = ("tp", "fn")

    def value(self):
        return _divide(self.state["tp"], self.state["tp"] + self.state["fn"])

    def get_config(self):
        return {**super().get_config(), "top_k": self.top_k, "class_id": self.class_id}


class AUC(_CountsByThreshold, Metric):
    """Area under the ROC curve (``curve="ROC"``) or the precision-recall curve ("PR").

    As Keras: counts at ``num_thresholds`` thresholds, i / (num_thresholds - 1) with
    -eps and 1 + eps at the ends (or at the given ``thresholds``); ROC by the
    trapezoidal rule, PR by Davis & Goadrich's interpolation; ``summation_method``
    "minoring" or "majoring" takes the lower or upper Riemann sum instead.
    """

    CURVES = ("ROC", "PR", "PRGAIN")
    SUMMATION = ("interpolation", "minoring", "majoring")

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curve = str(curve).upper()
        if curve not in self.CURVES:
            raise unknown_name("AUC curve", curve, self.CURVES)
        if summation_method not in self.SUMMATION:
            raise unknown_name("AUC summation_method", summation_method, self.SUMMATION)
        if multi_label:
            raise ConfigError("AUC(multi_label=True) is not supported: use one AUC per "
                              "output with class_id-free labels, or multi_label=False")
        if thresholds is not None:
            inner = sorted(_thresholds("AUC", thresholds, 0.5))
            evenly = _evenly_spaced([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                    or num_thresholds < 2:
                raise ConfigError(f"AUC num_thresholds must be an int > 1, got "
                                  f"{num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        self.num_thresholds = len(inner) + 2
        self.thresholds = [-epsilon()] + inner + [1.0 + epsilon()]
        self._init_from_thresholds = thresholds is not None
        self._evenly = evenly
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels = False, num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                           np.float64)
        self.from_logits = bool(from_logits)
        super().__init__(name=name or _unique("AUC"), dtype=dtype)

    def reset_state(self) -> None:
        self.state = {key: np.zeros(self.num_thresholds) for key in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  evenly=self._evenly, label_weights=self.label_weights)
        for key, value in counts.items():
            self.state[key] += value

    def _interpolated_pr(self) -> float:
        tp, fp, fn = self.state["tp"], self.state["fp"], self.state["fn"]
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore"):
            log_ratio = np.log(np.where(ratio > 0, ratio, 1.0))
        return float(_divide(slope * (dtp + intercept * log_ratio),
                             np.maximum(tp[1:] + fn[1:], 0)).sum())

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return as_result(self._interpolated_pr())
        tp, fp, tn, fn = (self.state[k] for k in ("tp", "fp", "tn", "fn"))
        recall = _divide(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _divide(tp, tp + fp)
        else:  # PRGAIN
            scale = _divide(tp + fn, tn + fp)
            x = np.maximum(np.where(tp == 0, 0.0, 1.0 - scale * _divide(fn, tp)), 0.0)
            y = np.where(tp == 0, 1.0, 1.0 - scale * _divide(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return as_result(float(np.sum((x[:-1] - x[1:]) * heights)))

    def get_config(self):
        config = {"name": self.name, "num_thresholds": self.num_thresholds,
                  "curve": self.curve, "summation_method": self.summation_method,
                  "multi_label": False, "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(), "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


__all__ = ["AUC", "FalseNegatives", "FalsePositives", "Precision", "Recall", "TrueNegatives",
           "TruePositives", "confusion_counts"]
