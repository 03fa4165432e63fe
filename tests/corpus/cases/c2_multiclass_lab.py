"""First course, week 2 lab: multiclass classification with a 2-unit ReLU layer."""
import numpy as np
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense

np.set_printoptions(precision=2)
classes = 4
m = 100
centers = [[-5, 2], [-2, -2], [1, 2], [5, -2]]
std = 1.0
rng = np.random.default_rng(30)
y_train = rng.integers(0, classes, m)
X_train = np.asarray(centers, dtype=float)[y_train] + rng.normal(0, std, (m, 2))
print(f"unique classes {np.unique(y_train)}")
print(f"class representation {y_train[:10]}")
print(f"shape of X_train: {X_train.shape}, shape of y_train: {y_train.shape}")

tf.random.set_seed(1234)  # applied to achieve consistent results
model = Sequential(
    [
        Dense(2, activation="relu", name="L1"),
        Dense(4, activation="linear", name="L2"),
    ]
)
model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=tf.keras.optimizers.Adam(0.01),
)
history = model.fit(X_train, y_train, epochs=60, verbose=0)

l1 = model.get_layer("L1")
W1, b1 = l1.get_weights()
l2 = model.get_layer("L2")
W2, b2 = l2.get_weights()
print(W1, b1)
Xl2 = np.maximum(0, np.dot(X_train, W1) + b1)
logits = np.dot(Xl2, W2) + b2
assert np.allclose(logits, model.predict(X_train, verbose=0), atol=1e-4)
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
