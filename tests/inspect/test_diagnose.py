"""diagnose(): each problem built on purpose is reported; healthy trained networks give nothing."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.initializers import Constant, RandomNormal
from glassnet.inspect import Finding, diagnose, findings_table
from glassnet.layers import Dense, Input


def whats(findings: list[Finding]) -> str:
    return " | ".join(f"{f.layer}: {f.what}" for f in findings)


def digits_model(optimizer="adam", hidden="relu", **dense_kwargs):
    model = gn.Sequential([Input(shape=(64,)),
                           Dense(25, activation=hidden, name="hidden1", **dense_kwargs),
                           Dense(15, activation=hidden, name="hidden2", **dense_kwargs),
                           Dense(10, activation="softmax", name="output")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def test_healthy_trained_digits_network_reports_nothing(trained_digits, digits):
    assert diagnose(trained_digits, *digits) == []


@pytest.mark.slow
def test_healthy_trained_coffee_network_reports_nothing(trained_coffee, coffee):
    assert diagnose(trained_coffee, *coffee) == []


def test_zero_initialisation_is_a_symmetric_start(digits):
    model = digits_model(kernel_initializer="zeros")
    findings = diagnose(model, *digits)
    symmetric = [f for f in findings if "symmetric" in f.what]
    # hidden2's units differ in their outgoing weights (random output kernel): the
    # output's gradient tells them apart, so only hidden1 is stuck symmetric
    assert [f.layer for f in symmetric] == ["hidden1"]
    assert symmetric[0].severity == "error" and symmetric[0].evidence["units"] == 25


def test_constant_initialisation_is_a_symmetric_start(digits):
    model = gn.Sequential([Input(shape=(64,)),
                           Dense(8, activation="tanh", kernel_initializer=Constant(0.05)),
                           Dense(10, activation="softmax", kernel_initializer=Constant(0.1))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    findings = diagnose(model, *digits)
    assert any("symmetric" in f.what and f.evidence["kernel_value"] == pytest.approx(0.05)
               for f in findings), whats(findings)


def test_dead_relu_units(digits):
    model = digits_model()
    layer = model.get_layer("hidden2")
    layer.bias.assign(np.full(15, -100.0, dtype=np.float32))
    findings = [f for f in diagnose(model, *digits) if "dead" in f.what]
    assert len(findings) == 1 and findings[0].layer == "hidden2"
    assert findings[0].evidence["dead_share"] == 1.0 and findings[0].severity == "error"


def test_saturated_sigmoid_units_on_raw_inputs(coffee):
    X, y = coffee  # temperatures around 200: z = x W is in the hundreds
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="sigmoid", name="layer1"),
                           Dense(1, activation="sigmoid", name="layer2")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    findings = diagnose(model, X, y)
    saturated = [f for f in findings if "saturated" in f.what]
    assert [f.layer for f in saturated] == ["layer1"]
    assert saturated[0].evidence["saturated_share"] == 1.0


def test_vanishing_gradients_through_deep_sigmoid_stack(digits):
    X, y = digits
    layers = [Input(shape=(64,))]
    layers += [Dense(16, activation="sigmoid", kernel_initializer=RandomNormal(stddev=0.05))
               for _ in range(8)]
    layers.append(Dense(10, activation="softmax"))
    model = gn.Sequential(layers)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    findings = [f for f in diagnose(model, X, y) if "vanishing" in f.what]
    assert len(findings) == 1, whats(diagnose(model, X, y))
    assert findings[0].evidence["ratio_first_to_last"] < 1e-3


@pytest.mark.slow
def test_exploding_gradients_through_deep_large_weights(digits):
    X, y = digits
    layers = [Input(shape=(64,))]
    layers += [Dense(32, activation="linear", kernel_initializer=RandomNormal(stddev=1.0))
               for _ in range(6)]
    layers.append(Dense(1, activation="linear", kernel_initializer=RandomNormal(stddev=1.0)))
    model = gn.Sequential(layers)
    model.compile(optimizer="sgd", loss="mse")
    findings = [f for f in diagnose(model, X, y.astype(float)) if "exploding" in f.what]
    assert len(findings) == 1
    assert findings[0].evidence["ratio_first_to_last"] > 1e3


@pytest.mark.parametrize("rate, word", [(50.0, "too large"), (1e-9, "too small")])
def test_update_ratio_reports_a_bad_learning_rate(digits, rate, word):
    model = digits_model(optimizer=gn.optimizers.SGD(learning_rate=rate))
    before = model.get_weights()
    findings = [f for f in diagnose(model, *digits) if "updates are" in f.what]
    assert findings and all(word in f.what for f in findings), whats(findings)
    assert findings[0].evidence["learning_rate"] == rate
    for a, b in zip(before, model.get_weights(), strict=True):  # the trial step was undone
        np.testing.assert_array_equal(a, b)


def test_update_ratio_trial_step_leaves_adam_state_unchanged(trained_digits, digits):
    optimizer = trained_digits.optimizer
    slots = {k: v.copy() for k, v in optimizer.slots.items()}
    iterations = optimizer.iterations
    diagnose(trained_digits, *digits)
    assert optimizer.iterations == iterations
    for k, v in slots.items():
        np.testing.assert_array_equal(optimizer.slots[k], v)


def test_non_finite_weights_are_an_error_and_stop_the_rest(digits):
    model = digits_model()
    model.get_layer("hidden1").kernel.value[3, 4] = np.nan
    model.get_layer("output").bias.value[0] = np.inf
    findings = diagnose(model, *digits)
    assert [(f.severity, f.layer) for f in findings] == [("error", "hidden1"), ("error", "output")]
    assert findings[0].evidence == {"nan": 1, "inf": 0, "count": 1600}


def test_bias_dominance(digits):
    model = gn.Sequential([Input(shape=(64,)), Dense(20, activation="linear", name="hidden",
                                                     bias_initializer=Constant(40.0)),
                           Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    findings = [f for f in diagnose(model, *digits) if "dominates" in f.what]
    assert [f.layer for f in findings] == ["hidden"]
    spread = (digits[0] @ model.get_layer("hidden").kernel.numpy()).std(axis=0)
    assert findings[0].evidence["median_ratio"] == pytest.approx(np.median(40.0 / spread),
                                                                 rel=1e-4)


def imbalanced(p=0.05, n=2000):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = (rng.random(n) < p).astype(np.float32).reshape(-1, 1)
    return X, y


def test_output_bias_far_from_prior_log_odds():
    X, y = imbalanced()
    model = gn.Sequential([Input(shape=(4,)), Dense(8, activation="relu"),
                           Dense(1, activation="sigmoid", name="out")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    findings = [f for f in diagnose(model, X, y) if "log-odds" in f.what]
    assert len(findings) == 1 and findings[0].layer == "out"
    p = float(y.mean())
    assert findings[0].evidence["prior_log_odds"] == pytest.approx(np.log(p / (1 - p)))
    assert "log(p/(1-p))" in findings[0].advice


def test_output_bias_started_at_the_log_odds_is_fine():
    X, y = imbalanced()
    p = float(y.mean())
    model = gn.Sequential([Input(shape=(4,)), Dense(8, activation="relu"),
                           Dense(1, activation="sigmoid",
                                 bias_initializer=Constant(np.log(p / (1 - p))))])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert [f for f in diagnose(model, X, y) if "log-odds" in f.what] == []


@pytest.mark.slow
def test_findings_print_and_tabulate(digits):
    findings = diagnose(digits_model(kernel_initializer="zeros"), *digits)
    assert str(findings[0]).startswith("ERROR [hidden1] all 25 units are identical")
    table = findings_table(findings)
    assert len(table) == len(findings) and table["severity"][0] == "error"
    assert findings_table([]).title == "Diagnosis: nothing found"


def test_weights_that_do_not_move_name_the_dead_units_that_stop_the_gradient(digits):
    X, y = digits
    model = digits_model(optimizer="sgd")  # no momentum: a zero gradient is a zero step
    model.fit(X[:64], y[:64], epochs=1, batch_size=32, verbose=0)  # builds the optimizer
    layer = model.get_layer("hidden2")
    layer.bias.assign(np.full(15, -100.0, dtype=np.float32))  # every hidden2 unit dead
    findings = diagnose(model, X, y)
    still = [f for f in findings if f.what == "the weights do not move at all"]
    # no gradient passes a dead ReLU, so hidden2's kernel and hidden1's (behind it) stay
    # put; the output's inputs are all 0, so dW = aᵀ dz = 0 there too
    assert sorted(f.layer for f in still) == ["hidden1", "hidden2", "output"], whats(findings)
    dead = next(f for f in findings if "dead" in f.what)
    assert dead.evidence["dead_units"] == list(range(15))
    for finding in still:
        assert finding.advice == (
            "the update is exactly zero: the gradient does not reach this layer, because "
            f"hidden2 has dead units {list(range(15))} (they pass no gradient back)")
        assert "see dead or saturated units" not in str(finding)


def test_saturated_units_are_listed():
    from glassnet.inspect.diagnose import _no_gradient_advice

    saturated = Finding("warning", "layer1", "3 of 3 sigmoid units are saturated",
                        {"saturated_share": 1.0, "saturated_units": [0, 1, 2]})
    assert _no_gradient_advice([saturated]).endswith(
        "because layer1 has saturated units [0, 1, 2] (they pass no gradient back)")
    # nothing dead or saturated found: the advice names none and claims none
    assert _no_gradient_advice([]) == ("the update is exactly zero: the gradient does not "
                                       "reach this layer; check that the loss depends on "
                                       "the model's output")


def test_saturated_finding_lists_its_units(coffee):
    X, y = coffee
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="sigmoid", name="layer1"),
                           Dense(1, activation="sigmoid", name="layer2")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    (saturated,) = [f for f in diagnose(model, X, y) if "saturated" in f.what]
    assert saturated.evidence["saturated_units"] == [0, 1, 2]
