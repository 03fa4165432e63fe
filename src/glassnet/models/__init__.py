"""Models: ``Sequential`` (a stack of layers) and ``Model`` (the functional API's graph).

``sequential`` and ``functional`` hold the two classes; the modules beside them are what
they are built from: the functional graph's config, several inputs and outputs, nested
Sequentials, ``summary()``.
"""

from __future__ import annotations

from glassnet.models.functional import Model  # noqa: E402  (builds on Sequential)
from glassnet.models.sequential import Sequential, load_model, model_from_json

__all__ = ["Model", "Sequential", "load_model", "model_from_json"]
