"""Tables and figures made from recorded runs: ``tables(runs, store)`` and ``plots``.

``tables`` returns the ten Tables of API.md §4 (loss, weights, biases, weights beside
biases, weight and bias changes, correlation, accuracy beside weights, activations
across runs, update time). ``glassnet.report.plots`` draws the pictures (matplotlib,
the ``plots`` extra), imported on first use.
"""

from importlib import import_module

from glassnet.report.tables import TABLE_NAMES, tables

__all__ = ["LiveView", "TABLE_NAMES", "plots", "tables"]


def __getattr__(name):
    if name == "plots":
        return import_module("glassnet.report.plots")
    if name == "LiveView":
        return import_module("glassnet.report.live").LiveView
    raise AttributeError(f"module 'glassnet.report' has no attribute {name!r}")
