"""The real PyTorch and Keras 3 for the tests that use them as oracles or as watched peers.

``need("torch")`` / ``need("keras")`` imports the framework, or skips the test saying how
to install it. On CI (``GLASSNET_REQUIRE_FRAMEWORKS=1``, set by ``.ci/run``) a missing
framework fails the test instead: there they must run.
"""

from __future__ import annotations

import importlib
import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 on PyTorch: no TensorFlow here

HOW = ("make venv installs them (torch's CPU wheel from /opt/wheels, then "
       "pip install -e '.[frameworks]')")


def need(name: str):
    """Import ``torch`` or ``keras`` (on the torch backend), or skip/fail as above."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        message = f"{name} is not installed ({exc}); {HOW}"
        if os.environ.get("GLASSNET_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail(message)
        pytest.skip(message)
