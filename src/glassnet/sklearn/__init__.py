"""scikit-learn's side: estimators wrapping a glassnet model, and sweeps.

``GlassClassifier`` and ``GlassRegressor`` (``estimators``) fit, predict and score as
scikit-learn's own; ``sweeps`` runs a grid or random search with cross-validation, each
trial a recorded run (``glassnet sweep``, ``gn.sweep``); ``sweep_file`` reads its file.
"""

from __future__ import annotations

from glassnet.sklearn.estimators import GlassClassifier, GlassRegressor

__all__ = ["GlassClassifier", "GlassRegressor"]
