"""scikit-learn estimators backed by a glassnet Sequential: GlassClassifier, GlassRegressor.

They pass scikit-learn's ``check_estimator`` and work in ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``. After ``fit``: ``model_`` (the trained
Sequential, every weight and bias in view), ``coefs_`` and ``intercepts_`` (copies of
the kernels and biases, as ``MLPClassifier`` names them), ``loss_curve_`` (the loss per
epoch) and ``n_iter_``. With ``track=`` each fit is a recorded run.
"""

from __future__ import annotations

import numbers

import numpy as np

from glassnet.errors import ConfigError, require

require("sklearn", "sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import LabelEncoder  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402


class _GlassEstimator(BaseEstimator):
    """What the classifier and the regressor share: building, training, tracking."""

    def __init__(self, hidden=(100,), activation="relu", optimizer="adam", learning_rate=1e-3,
                 batch_size=32, epochs=200, validation_fraction=0.1, early_stopping=False,
                 patience=10, random_state=None, track=None, verbose=0):
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.random_state = random_state
        self.track = track
        self.verbose = verbose

    # -- parameters ----------------------------------------------------------------------
    def _check_params(self) -> tuple[int, ...]:
        hidden = (self.hidden,) if isinstance(self.hidden, numbers.Integral) else \
            tuple(self.hidden)
        if any(not isinstance(h, numbers.Integral) or h <= 0 for h in hidden):
            raise ConfigError(f"hidden must be positive ints (units per hidden layer), got "
                              f"{self.hidden!r}")
        for name in ("batch_size", "epochs"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value <= 0:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in (0, 1), got "
                              f"{self.validation_fraction!r}")
        return tuple(int(h) for h in hidden)

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.randint(0, 2**31 - 1))
        if isinstance(self.random_state, np.random.RandomState):
            return int(self.random_state.randint(0, 2**31 - 1))
        return int(self.random_state)

    def _build(self, n_features: int, n_outputs: int, seed: int):
        from glassnet import initializers, optimizers
        from glassnet.layers import Dense, Input
        from glassnet.models import Sequential

        layers = [Input(shape=(n_features,))]
        for i, units in enumerate(self._check_params()):
            layers.append(Dense(units, activation=self.activation, name=f"hidden_{i + 1}",
                                kernel_initializer=initializers.GlorotUniform(seed=seed + i)))
        layers.append(Dense(n_outputs, name="output",
                            kernel_initializer=initializers.GlorotUniform(seed=seed + 997)))
        model = Sequential(layers, name=type(self).__name__)
        optimizer = optimizers.get(self.optimizer)
        if not isinstance(self.optimizer, optimizers.Optimizer):
            optimizer.learning_rate = self.learning_rate
        model.compile(optimizer=optimizer, loss=self._loss(), metrics=self._metrics())
        return model

    # -- training ------------------------------------------------------------------------
    def fit(self, X, y, validation_data=None):
        """Train a new network on (X, y); returns self.

        ``validation_data=(X_val, y_val)`` is scored after every epoch (and recorded
        when tracking), as ``model.fit`` does; sweeps pass their held-out fold.
        """
        for attribute in ("model_", "loss_curve_", "n_iter_", "_seed_"):
            self.__dict__.pop(attribute, None)
        X, y = self._prepare(X, y, reset=True)
        if validation_data is not None:
            X_val, y_val = validation_data
            validation_data = (np.asarray(X_val, np.float32), self._validation_targets(y_val))
        return self._train(X, y, self.epochs, validation_data)

    def _train(self, X, y, epochs, validation_data=None):
        from glassnet import callbacks as gncallbacks
        from glassnet.random import seeded

        seed = getattr(self, "_seed_", None)
        if seed is None:
            seed = self._seed_ = self._seed()
        if not hasattr(self, "model_"):
            self.model_ = self._build(X.shape[1], self._n_model_outputs(), seed)
        callbacks = []
        if self.early_stopping and validation_data is None:
            stratify = y if self._is_classifier() and _can_stratify(y) else None
            X, X_val, y, y_val = train_test_split(X, y, test_size=self.validation_fraction,
                                                  random_state=seed, stratify=stratify)
            validation_data = (X_val, y_val)
        if self.early_stopping:
            callbacks.append(gncallbacks.EarlyStopping(patience=self.patience,
                                                       restore_best_weights=True))
        run = self._start_run(X, y)
        if run is not None:
            callbacks.append(run.watch(log_freq=max(1, len(X) // self.batch_size),
                                       snapshots="epoch"))
        try:
            with seeded(seed + getattr(self, "n_iter_", 0)):
                history = self.model_.fit(X, y, batch_size=min(self.batch_size, len(X)),
                                          epochs=epochs, verbose=self.verbose,
                                          validation_data=validation_data,
                                          callbacks=callbacks)
        except BaseException as exc:
            if run is not None:
                run.finish("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self.loss_curve_ = list(getattr(self, "loss_curve_", [])) + history.history["loss"]
        if "val_loss" in history.history:
            self.validation_scores_ = history.history["val_loss"]
        self.n_iter_ = len(self.loss_curve_)
        self.coefs_ = [layer.kernel.numpy() for layer in self.model_.layers]
        self.intercepts_ = [layer.bias.numpy() for layer in self.model_.layers]
        self.run_id_ = None if run is None else run.id
        if run is not None:
            run.finish()
        return self

    def _start_run(self, X, y):
        if not self.track:
            return None
        from glassnet import track

        if isinstance(self.track, track.Run):
            return _BorrowedRun(self.track)  # the caller (a sweep) finishes it

        options = {"project": "sklearn"}
        if isinstance(self.track, str):
            options["project"] = self.track
        elif isinstance(self.track, dict):
            options.update(self.track)
        config = {key: value for key, value in self.get_params().items() if key != "track"}
        config["hidden"] = list(self._check_params())
        config["estimator"] = type(self).__name__
        config.update(options.pop("config", {}))
        run = track.init(config=config, **options)
        run.log_dataset(options.get("dataset", "train"), save=False, X=X, y=y)
        return run

    def _predict_raw(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.model_.predict(X.astype(self.model_.weights[0].dtype),
                                   batch_size=max(len(X), 1))

    def _is_classifier(self) -> bool:
        return False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class _BorrowedRun:
    """A run the estimator records into but does not finish: its owner does."""

    def __init__(self, run):
        self._run = run
        self.id = run.id

    def watch(self, **kwargs):
        return self._run.watch(**kwargs)

    def finish(self, *args, **kwargs):
        pass


def _can_stratify(y) -> bool:
    _, counts = np.unique(y, return_counts=True)
    return counts.min() >= 2


class GlassClassifier(ClassifierMixin, _GlassEstimator):
    """A dense network classifier: hidden layers of ``activation``, a softmax output.

    Trained with sparse categorical cross-entropy on the logits (fused and stable).
    """

    def _loss(self):
        from glassnet.losses import SparseCategoricalCrossentropy

        return SparseCategoricalCrossentropy(from_logits=True)

    def _metrics(self):
        return ["accuracy"]

    def _is_classifier(self):
        return True

    def _n_model_outputs(self):
        return len(self.classes_)

    def _prepare(self, X, y, reset, classes=None):
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64)
        check_classification_targets(y)
        if reset:
            self._encoder = LabelEncoder().fit(y if classes is None else classes)
            self.classes_ = self._encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes "
                                 f"in the data, got 1 class: {self.classes_[0]!r}")
        elif not np.isin(y, self.classes_).all():
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(f"y has classes not seen before: {unseen.tolist()}; "
                             f"expected {self.classes_.tolist()}")
        return X.astype(np.float32), self._encoder.transform(y)

    def _validation_targets(self, y):
        return self._encoder.transform(y)

    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y); the first call needs ``classes`` (all the labels to expect)."""
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = self._prepare(X, y, reset=first, classes=classes)
        return self._train(X, y, 1)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes); columns follow ``classes_``."""
        from glassnet.activations import softmax

        return np.asarray(softmax(self._predict_raw(X).astype(np.float64)))

    def predict(self, X):
        scores = self._predict_raw(X)
        return self.classes_[np.argmax(scores, axis=1)]


class GlassRegressor(RegressorMixin, _GlassEstimator):
    """A dense network regressor: hidden layers of ``activation``, a linear output, MSE."""

    def _loss(self):
        return "mse"

    def _metrics(self):
        return []

    def _n_model_outputs(self):
        return self.n_outputs_

    def _prepare(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float64, y_numeric=True,
                             multi_output=True)
        if reset:
            self._y_was_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        y = y.reshape(len(y), -1)
        if y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs, the model was fitted with "
                             f"{self.n_outputs_}")
        return X.astype(np.float32), y.astype(np.float32)

    def _validation_targets(self, y):
        return np.asarray(y, np.float32).reshape(len(y), -1)

    def partial_fit(self, X, y):
        """One epoch on (X, y), continuing from the current weights."""
        X, y = self._prepare(X, y, reset=not hasattr(self, "model_"))
        return self._train(X, y, 1)

    def predict(self, X):
        out = self._predict_raw(X).astype(np.float64)
        return out.ravel() if self._y_was_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["GlassClassifier", "GlassRegressor"]
