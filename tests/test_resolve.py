"""Every way Keras lets a user name an object resolves the same in every module."""

import pytest

from glassnet import constraints, initializers, losses, metrics, optimizers, regularizers
from glassnet._engine.resolve import serialize
from glassnet.errors import UnknownNameError

CASES = [
    (initializers, "he_normal", initializers.HeNormal),
    (losses, "binary_crossentropy", losses.BinaryCrossentropy),
    (optimizers, "rmsprop", optimizers.RMSprop),
    (regularizers, "l2", regularizers.L2),
    (constraints, "max_norm", constraints.MaxNorm),
    (metrics, "precision", metrics.Precision),
]


@pytest.mark.parametrize("module, name, cls", CASES, ids=[c[1] for c in CASES])
def test_every_form_resolves_to_the_class(module, name, cls):
    instance = cls()
    assert module.get(instance) is instance
    assert type(module.get(cls)) is cls
    assert type(module.get(name)) is cls
    assert type(module.get(name.upper())) is cls  # "RMSPROP", "L2"
    assert type(module.get(cls.__name__)) is cls
    rebuilt = module.get(serialize(instance))
    assert type(rebuilt) is cls and rebuilt.get_config() == instance.get_config()


@pytest.mark.parametrize("module, name, cls", CASES, ids=[c[1] for c in CASES])
def test_unknown_names_list_the_valid_ones_sorted(module, name, cls):
    with pytest.raises(UnknownNameError, match=r"Valid .* names: .*" + name) as caught:
        module.get("no_such_thing")
    listed = str(caught.value).split("names: ")[1].rstrip(".").split(", ")
    assert listed == sorted(listed)
    with pytest.raises(UnknownNameError, match="NoSuchClass"):
        module.get({"class_name": "NoSuchClass", "config": {}})


def test_metric_short_names_report_under_that_name():
    assert metrics.get("mae").name == "mae"
    assert metrics.get("accuracy", losses.SparseCategoricalCrossentropy()).name == "accuracy"
    assert isinstance(metrics.get("accuracy", losses.BinaryCrossentropy()),
                      metrics.BinaryAccuracy)
    assert serialize(None) is None
