"""``keras.saving``: Keras 3's home of ``load_model`` and ``save_model``."""

from __future__ import annotations

from glassnet.models import load_model


def save_model(model, filepath, **kwargs) -> None:
    """``model.save(filepath)``, as ``keras.saving.save_model``."""
    model.save(filepath, **kwargs)


__all__ = ["load_model", "save_model"]
