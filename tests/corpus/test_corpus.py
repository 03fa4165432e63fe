"""The course-and-tutorial corpus runs under glassnet as under Keras 3 (issue 18's measure).

Each case in ``cases/`` runs under glassnet exactly as a user who changed only the imports
would run it (``tensorflow`` is ``glassnet``, ``keras`` is ``glassnet.keras``). Where the
real Keras 3 ran the case (``keras_results.json``, made by ``run_corpus.py --keras
--write-fixture``), glassnet must run it too, with a final loss inside Keras's min..max over
seeds widened by ``run_corpus.tolerance``: each side by the range's own width, and by at
least 5% of its midpoint or 1e-3.

``XFAIL`` names each case that fails today, with its first error and the area that owns the
gap. Gaps nobody is working on are strict (an unexpected pass fails, so the entry is
removed); gaps in an area another branch is still extending are not (pytest -ra lists the
XPASS). Refresh the table with ``tests/corpus/run_corpus.py``.
"""

from __future__ import annotations

import pytest
import run_corpus
from run_corpus import case_names, load_fixture, run_in_subprocess, spread, within

KERAS = load_fixture()

# case -> (area that owns the gap, the first error glassnet meets today)
XFAIL = {
    "blog_regression_mlp": (
        None, "UnknownNameError: Unknown initializer 'normal' (Keras 3 takes 'normal' and "
              "'uniform' for random_normal/random_uniform)"),
    "kerasio_functional_api": (
        "files", "FileFormatError: model.save('my_model.keras') of a functional model: "
                 "glassnet writes Sequential models as Keras files only"),
    "kerasio_save_and_load": (
        "files", "FileFormatError: model.save('my_model.keras') of a functional model"),
    "kerasio_training_callbacks": (
        "files", "FileFormatError: ModelCheckpoint('mymodel_{epoch}.keras') of a functional "
                 "model"),
    "kerasio_functional_branches": (
        "graph", "AttributeError: module 'glassnet.layers' has no attribute 'add' (the "
                 "functional forms layers.add / layers.concatenate)"),
    "kerasio_sequential_feature_extraction": (
        "graph", "AttributeError: 'Sequential' object has no attribute 'inputs' "
                 "(keras.Model(inputs=seq.inputs, outputs=[l.output for l in seq.layers]))"),
    "kerasio_sequential_model": (
        "kerasapi", "ImportError: cannot import name 'ops' from 'glassnet.keras' "
                    "(keras.ops.ones)"),
    "tf_basic_classification": (
        "graph", "ValueTypeError: Sequential.add expects a Layer, got Sequential "
                 "(tf.keras.Sequential([model, tf.keras.layers.Softmax()]))"),
    "tf_quickstart_beginner": (
        "graph", "ValueTypeError: Sequential.add expects a Layer, got Sequential "
                 "(tf.keras.Sequential([model, tf.keras.layers.Softmax()]))"),
    "tf_overfit_regularized": (
        "kerasapi", "AttributeError: module 'glassnet' has no attribute 'add_n' "
                    "(tf.add_n(model.losses))"),
    "tf_overfit_sizes": (
        None, "UnknownNameError: Unknown metric <glassnet.losses.BinaryCrossentropy ...> "
              "(a loss object in metrics=[...], as Keras takes)"),
    "tf_regression_dnn": (
        "kerasapi", "AttributeError: module 'glassnet' has no attribute 'linspace' "
                    "(tf.linspace(0.0, 250, 251))"),
}


def _param(name):
    if name not in XFAIL:
        return name
    area, error = XFAIL[name]
    reason = f"{error} [{'open, nobody' if area is None else area}]"
    return pytest.param(name, marks=pytest.mark.xfail(reason=reason, strict=area is None))


@pytest.mark.slow
@pytest.mark.parametrize("name", [_param(n) for n in case_names()])
def test_case_runs_under_glassnet_within_keras_spread(name):
    keras = KERAS[name]
    if not keras["ok"]:
        pytest.skip(f"the real Keras fails this case too: {keras['error']}")
    result = run_in_subprocess(name, "glassnet", (0,), timeout=180)
    assert result["ok"], result["error"]
    (loss,) = result["losses"]
    low, high = spread(keras["losses"])
    assert within(loss, low, high), (
        f"final loss {loss:.5g}, Keras {low:.5g}..{high:.5g} over seeds "
        f"(tolerance {run_corpus.tolerance(low, high):.3g})")


def test_every_case_has_keras_results_and_keras_ran_them_all():
    assert sorted(KERAS) == case_names()
    failed = {n: r["error"] for n, r in KERAS.items() if not r["ok"]}
    assert failed == {}
    assert all(len(r["losses"]) >= 3 for r in KERAS.values())


def test_xfail_entries_name_existing_cases():
    assert set(XFAIL) <= set(case_names())
