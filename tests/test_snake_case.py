"""One snake_case rule for layer names, loss names and Keras weight-file groups: Keras's."""

from __future__ import annotations

import pytest

import glassnet as gn
from frameworks import need
from glassnet._engine.resolve import snake_case

CASES = {"Dense": "dense", "BatchNormalization": "batch_normalization", "ReLU": "re_lu",
         "LeakyReLU": "leaky_re_lu", "Conv2D": "conv2d", "KLDivergence": "kl_divergence",
         "MeanSquaredError": "mean_squared_error", "HTTPServer": "http_server",
         "My-Layer 2": "my_layer2", "already_snake": "already_snake"}


@pytest.mark.parametrize("name, expected", sorted(CASES.items()))
def test_snake_case_by_hand(name, expected):
    assert snake_case(name) == expected


@pytest.mark.slow
def test_snake_case_is_keras_rule():
    need("keras")
    from keras.src.utils.naming import to_snake_case

    for name in CASES:
        assert snake_case(name) == to_snake_case(name), name


def test_default_layer_and_loss_names_follow_it():
    gn.layers.reset_names()
    assert gn.layers.LeakyReLU().name == "leaky_re_lu"
    assert gn.layers.BatchNormalization().name == "batch_normalization"
    assert gn.losses.SparseCategoricalCrossentropy().name == "sparse_categorical_crossentropy"
    assert gn.losses.MeanSquaredError().name == "mean_squared_error"
