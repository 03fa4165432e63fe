"""Training, proved by hand: a 2-2-1 network worked out on paper, the course lab,
Keras's validation_split, and how sample and class weights scale the loss."""

from __future__ import annotations

import math

import numpy as np
import pytest

import glassnet as gn
from glassnet.layers import Dense, Input
from loss_watcher import BatchLosses


def test_one_sgd_step_of_a_2_2_1_network_worked_out_by_hand(float64):
    # One sample x = (1, 2), target y = 1; hidden layer of 2 sigmoid units, one linear output.
    #   W1 = [[0.1, 0.2],    b1 = [0.1, -0.1]      W2 = [[ 0.5],    b2 = [0.2]
    #         [0.3, 0.4]]                                [-0.5]]
    model = gn.Sequential([Input(shape=(2,)), Dense(2, activation="sigmoid"), Dense(1)])
    model.set_weights([np.array([[0.1, 0.2], [0.3, 0.4]]), np.array([0.1, -0.1]),
                       np.array([[0.5], [-0.5]]), np.array([0.2])])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.5), loss="mse")
    x, y = np.array([[1.0, 2.0]]), np.array([[1.0]])
    # Forward.
    #   z1 = x W1 + b1 = (1*0.1 + 2*0.3 + 0.1, 1*0.2 + 2*0.4 - 0.1) = (0.8, 0.9)
    #   a1 = sigmoid(z1) = (1/(1+e^-0.8), 1/(1+e^-0.9)) = (0.689974481, 0.710949503)
    #   z2 = a1 W2 + b2 = 0.5*0.689974481 - 0.5*0.710949503 + 0.2 = 0.189512489
    #   L  = (z2 - y)^2 = (-0.810487511)^2 = 0.656890005
    # Backward.
    #   dL/dz2 = 2 (z2 - y) = -1.620975021
    #   dW2 = a1^T dz2 = (0.689974481, 0.710949503) * -1.620975021 = (-1.118431399, -1.152431385)
    #   db2 = -1.620975021
    #   da1 = dz2 W2^T = (-0.810487511, 0.810487511)
    #   sigmoid'(z1) = a1 (1 - a1) = (0.213909697, 0.205500307)
    #   dz1 = da1 * sigmoid'(z1) = (-0.173371137, 0.166555433)
    #   dW1 = x^T dz1 = [[1*-0.173371137, 1*0.166555433], [2*-0.173371137, 2*0.166555433]]
    #   db1 = dz1
    # SGD with learning rate 0.5: w <- w - 0.5 dw.
    #   W1 = [[0.1 + 0.086685569, 0.2 - 0.083277717], [0.3 + 0.173371137, 0.4 - 0.166555433]]
    #      = [[0.186685569, 0.116722283], [0.473371137, 0.233444567]]
    #   b1 = [0.1 + 0.086685569, -0.1 - 0.083277717] = [0.186685569, -0.183277717]
    #   W2 = [[0.5 + 0.559215700], [-0.5 + 0.576215693]] = [[1.059215700], [0.076215693]]
    #   b2 = 0.2 + 0.810487511 = 1.010487511
    loss = model.train_on_batch(x, y)
    assert loss == pytest.approx(0.656890005, abs=1e-9)
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(w1, [[0.186685569, 0.116722283], [0.473371137, 0.233444567]],
                               atol=1e-9)
    np.testing.assert_allclose(b1, [0.186685569, -0.183277717], atol=1e-9)
    np.testing.assert_allclose(w2, [[1.059215700], [0.076215693]], atol=1e-9)
    np.testing.assert_allclose(b2, [1.010487511], atol=1e-9)


def test_the_same_network_with_a_sigmoid_output(float64):
    # As above, but the output is sigmoid: a2 = sigmoid(0.189512489) = 0.547236831.
    #   L = (0.547236831 - 1)^2 = 0.204994487
    #   dL/dz2 = 2 (a2 - y) * a2 (1 - a2) = -0.905526338 * 0.247768682 = -0.224361067
    #   b2 <- 0.2 - 0.5 * -0.224361067 = 0.312180534
    model = gn.Sequential([Input(shape=(2,)), Dense(2, activation="sigmoid"),
                           Dense(1, activation="sigmoid")])
    model.set_weights([[[0.1, 0.2], [0.3, 0.4]], [0.1, -0.1], [[0.5], [-0.5]], [0.2]])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.5), loss="mse")
    loss = model.train_on_batch(np.array([[1.0, 2.0]]), np.array([[1.0]]))
    assert loss == pytest.approx(0.204994487, abs=1e-9)
    assert model.get_weights()[3][0] == pytest.approx(0.312180534, abs=1e-9)


@pytest.mark.parametrize("first_layer", ["keras2_input_dim", "input_layer"])
def test_course_lab_recovers_w_200_and_b_100(first_layer):
    x = np.array([[1.0], [2.0]])
    y = np.array([[300.0], [500.0]])
    layers = ([Dense(1, input_dim=1)] if first_layer == "keras2_input_dim"
              else [Input(shape=(1,)), Dense(1)])
    model = gn.Sequential(layers)
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=1000, verbose=0)
    w, b = model.get_weights()
    assert w[0, 0] == pytest.approx(200.0, abs=1e-2)
    assert b[0] == pytest.approx(100.0, abs=1e-2)
    assert len(history.history["loss"]) == 1000
    np.testing.assert_allclose(model.predict(np.array([[1.5]])), [[400.0]], atol=2e-2)


def _regression_model(seed=0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="tanh"), Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


def test_validation_split_takes_the_last_fraction_before_shuffling(float64):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    split = _regression_model()
    start = split.get_weights()
    gn.utils.set_random_seed(5)
    history = split.fit(x, y, validation_split=0.2, epochs=3, batch_size=3, verbose=0)

    alone = _regression_model(seed=99)
    alone.set_weights(start)
    gn.utils.set_random_seed(5)
    alone.fit(x[:8], y[:8], epochs=3, batch_size=3, verbose=0)  # the same shuffles of 8 rows

    for a, b in zip(split.get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # val_loss of the last epoch is the loss on rows 8 and 9 with the final weights.
    prediction = alone.predict(x[8:])
    assert history.history["val_loss"][-1] == pytest.approx(
        float(np.mean((prediction - y[8:]) ** 2)), rel=1e-12)


def test_history_loss_is_the_sample_weighted_mean_of_batch_losses(float64):
    # Keras: the epoch loss averages batch losses weighted by batch size.
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    model = _regression_model()
    record = BatchLosses()  # each batch's loss, as fit offers it to a watcher
    history = model.fit(x, y, epochs=1, batch_size=2, shuffle=False, verbose=0,
                        callbacks=[record])
    batch_losses = record.losses
    assert len(batch_losses) == 3
    expected = (2 * batch_losses[0] + 2 * batch_losses[1] + 1 * batch_losses[2]) / 5
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)


def test_sample_weight_scales_each_sample_loss_over_the_batch_size(float64):
    # Keras "sum_over_batch_size": sum_i(w_i * loss_i) / n (not divided by sum of weights).
    model = gn.Sequential([Input(shape=(1,)), Dense(1)])
    model.set_weights([[[2.0]], [1.0]])  # y_pred = 2 x + 1
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="mse")
    x = np.array([[0.0], [1.0], [2.0]])  # y_pred = 1, 3, 5
    y = np.array([[0.0], [0.0], [7.0]])  # squared errors 1, 9, 4
    loss = model.train_on_batch(x, y, sample_weight=np.array([1.0, 0.5, 2.0]))
    assert loss == pytest.approx((1 * 1 + 0.5 * 9 + 2 * 4) / 3)
    assert model.evaluate(x, y, sample_weight=[1.0, 0.5, 2.0], verbose=0) == pytest.approx(
        (1 + 4.5 + 8) / 3)


def test_class_weight_scales_the_loss_of_each_class(float64):
    model = gn.Sequential([Input(shape=(1,)), Dense(1, activation="sigmoid")])
    model.set_weights([[[0.0]], [0.0]])  # p = 0.5 for every sample
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    # Each sample's cross-entropy is log 2; class 1 weighs 3, class 0 weighs 0.5:
    # (0.5 + 3 + 3 + 0.5) * log 2 / 4.
    loss = model.train_on_batch(x, y, class_weight={0: 0.5, 1: 3.0})
    assert loss == pytest.approx(7.0 * math.log(2) / 4, rel=1e-7)
    history = model.fit(x, y, class_weight={0: 0.5, 1: 3.0}, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(7.0 * math.log(2) / 4, rel=1e-7)


def test_class_weight_with_one_hot_labels_uses_the_argmax(float64):
    model = gn.Sequential([Input(shape=(2,)), Dense(3, activation="softmax")])
    model.set_weights([np.zeros((2, 3)), np.zeros(3)])  # p = 1/3 everywhere
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0),
                  loss="categorical_crossentropy")
    y = np.eye(3)[[0, 2, 2]]
    loss = model.train_on_batch(np.ones((3, 2)), y, class_weight={0: 1.0, 1: 5.0, 2: 2.0})
    assert loss == pytest.approx((1 + 2 + 2) * math.log(3) / 3, rel=1e-7)


def test_train_on_batch_returns_the_loss_before_the_update_and_moves_the_weights(float64):
    model = _regression_model()
    x, y = np.ones((4, 3)), np.zeros((4, 1))
    before = model.evaluate(x, y, verbose=0)
    assert model.train_on_batch(x, y) == pytest.approx(before, rel=1e-12)
    assert model.evaluate(x, y, verbose=0) < before


def test_validation_data_reports_val_loss_and_metrics(float64):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    model = _regression_model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x[:8], y[:8], validation_data=(x[8:], y[8:]), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    prediction = model.predict(x[8:])
    assert history.history["val_mae"][-1] == pytest.approx(
        float(np.mean(np.abs(prediction - y[8:]))), rel=1e-9)


def test_verbose_1_prints_a_progress_bar(capsys):
    model = _regression_model()
    model.fit(np.ones((4, 3)), np.zeros((4, 1)), epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out and "━" in out


def test_same_seed_gives_identical_training_runs():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 1))
    runs = []
    for _ in range(2):
        gn.utils.clear_session()
        gn.utils.set_random_seed(42)
        model = gn.Sequential([Input(shape=(3,)), Dense(4, activation="relu"),
                               gn.layers.Dropout(0.2), Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=3, batch_size=4, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_examples_course_lab_runs_and_recovers_w_and_b(capsys):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "course_lab.py"
    namespace = runpy.run_path(str(script), run_name="course_lab")
    w, b = namespace["main"]()
    out = capsys.readouterr().out
    assert w == pytest.approx(200.0, abs=1e-2) and b == pytest.approx(100.0, abs=1e-2)
    assert "after set_weights: w = [200.], b = [100.]" in out
    assert "x = 1.0: layer says 300.0, w * x + b = 300.0" in out
    assert "x = 2.0: layer says 500.0, w * x + b = 500.0" in out
    # The sigmoid unit's predictions agree with 1 / (1 + e^-z) to the printed digits.
    rows = [line for line in out.splitlines() if "model says" in line]
    assert len(rows) == 6
    for row in rows:
        said = float(row.split("model says ")[1].split(",")[0])
        by_hand = float(row.rsplit("= ", 1)[1])
        assert said == pytest.approx(by_hand, abs=2e-6)
    assert "Weights (kernels): 1   Biases: 1" in out


def test_regularization_penalty_is_part_of_the_loss_for_trainable_weights_only(float64):
    # As Keras (Layer._get_regularization_losses): only trainable weights are penalised.
    model = gn.Sequential([
        Input(shape=(1,)),
        Dense(1, kernel_regularizer=gn.regularizers.L2(0.5), name="first"),
        Dense(1, kernel_regularizer=gn.regularizers.L1(0.1), name="second")])
    model.set_weights([[[2.0]], [0.0], [[-3.0]], [1.0]])  # y_pred = -3 * 2x + 1
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="mse")
    x, y = np.array([[1.0]]), np.array([[-4.0]])  # y_pred = -5: squared error 1
    # 1 + 0.5 * 2^2 + 0.1 * |-3| = 3.3
    assert model.train_on_batch(x, y) == pytest.approx(3.3)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(3.3)
    model.get_layer("first").trainable = False
    model.compile(optimizer=gn.optimizers.SGD(learning_rate=0.0), loss="mse")
    # The frozen layer's penalty is a constant Keras leaves out: 1 + 0.3.
    assert model.train_on_batch(x, y) == pytest.approx(1.3)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(1.3)
    history = model.fit(x, y, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(1.3)
