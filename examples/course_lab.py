"""The course lab "neurons and layers", in glassnet.

1. One linear unit: its weights as built, then after ``set_weights``, and its
   predictions next to the same numbers computed with NumPy (w x + b).
2. One sigmoid unit with chosen weights: predictions next to 1 / (1 + e^-z).
3. A Sequential model compiled with ``optimizer="sgd", loss="mse"`` and trained on
   the two houses, recovering w = 200 and b = 100 by gradient descent.

Run it: ``python examples/course_lab.py``.
"""

from __future__ import annotations

import numpy as np

import glassnet as gn
from glassnet.layers import Dense


def linear_unit(x_train: np.ndarray) -> np.ndarray:
    print("== 1. One linear unit ==")
    layer = Dense(units=1, activation="linear")
    first = layer(x_train[0].reshape(1, 1))  # calling it on data builds it
    w, b = layer.get_weights()
    print(f"built by the first call: w = {w.ravel()}, b = {b}  (w random, b zero)")
    print(f"its output for x = {x_train[0, 0]}: {first.ravel()}")

    set_w, set_b = np.array([[200]]), np.array([100])
    layer.set_weights([set_w, set_b])
    w, b = layer.get_weights()
    print(f"after set_weights: w = {w.ravel()}, b = {b}")

    prediction = layer(x_train)
    by_hand = np.dot(x_train, set_w) + set_b
    for x, p, h in zip(x_train.ravel(), prediction.ravel(), by_hand.ravel(), strict=True):
        print(f"  x = {x:.1f}: layer says {p:.1f}, w * x + b = {h:.1f}")
    return prediction


def sigmoid_unit() -> np.ndarray:
    print("\n== 2. One sigmoid unit ==")
    x_train = np.array([0.0, 1, 2, 3, 4, 5]).reshape(-1, 1)
    model = gn.Sequential([Dense(1, input_dim=1, activation="sigmoid", name="L1")])
    model.summary()
    set_w, set_b = np.array([[2.0]]), np.array([-4.5])
    model.get_layer("L1").set_weights([set_w, set_b])
    prediction = model.predict(x_train)
    by_hand = 1.0 / (1.0 + np.exp(-(x_train @ set_w + set_b)))
    for x, p, h in zip(x_train.ravel(), prediction.ravel(), by_hand.ravel(), strict=True):
        print(f"  x = {x:.0f}: model says {p:.6f}, 1 / (1 + e^-(2x - 4.5)) = {h:.6f}")
    return prediction


def train_linear_regression(x_train: np.ndarray, y_train: np.ndarray) -> tuple[float, float]:
    print("\n== 3. Learning w and b with gradient descent ==")
    gn.utils.set_random_seed(1)
    model = gn.Sequential([gn.Input(shape=(1,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")  # SGD with Keras's default learning rate 0.01
    # Only two samples, unscaled: the slow direction of this bowl needs many small steps.
    history = model.fit(x_train, y_train, epochs=10000, verbose=0)
    w, b = (float(v.ravel()[0]) for v in model.get_weights())
    print(f"loss: {history.history['loss'][0]:.1f} at epoch 1, "
          f"{history.history['loss'][-1]:.2e} at epoch 10000")
    print(f"learned w = {w:.3f} (true 200), b = {b:.3f} (true 100)")
    print(f"prediction for 1.2 (1200 sqft): {model.predict(np.array([[1.2]]))[0, 0]:.1f} "
          f"thousand dollars")
    return w, b


def main():
    x_train, y_train = gn.datasets.load_house_prices()  # [[1], [2]] -> [[300], [500]]
    linear_unit(x_train)
    sigmoid_unit()
    return train_linear_regression(x_train, y_train)


if __name__ == "__main__":
    main()
