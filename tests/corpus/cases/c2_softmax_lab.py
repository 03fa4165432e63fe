"""First course, week 2 lab: softmax, and the preferred from_logits form."""
import numpy as np
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense


def make_blobs(n_samples, centers, cluster_std, random_state):
    rng = np.random.default_rng(random_state)
    centers = np.asarray(centers, dtype=np.float64)
    y = rng.integers(0, len(centers), n_samples)
    X = centers[y] + rng.normal(0, cluster_std, (n_samples, centers.shape[1]))
    return X, y


centers = [[-5, 2], [-2, -2], [1, 2], [5, -2]]
X_train, y_train = make_blobs(n_samples=2000, centers=centers, cluster_std=1.0,
                              random_state=30)

model = Sequential(
    [
        Dense(25, activation="relu"),
        Dense(15, activation="relu"),
        Dense(4, activation="softmax"),  # < softmax activation here
    ]
)
model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(),
    optimizer=tf.keras.optimizers.Adam(0.001),
)
model.fit(X_train, y_train, epochs=5)
p_nonpreferred = model.predict(X_train)
print(p_nonpreferred[:2])
print("largest value", np.max(p_nonpreferred), "smallest value", np.min(p_nonpreferred))

preferred_model = Sequential(
    [
        Dense(25, activation="relu"),
        Dense(15, activation="relu"),
        Dense(4, activation="linear"),  # <-- Note
    ]
)
preferred_model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),  # <-- Note
    optimizer=tf.keras.optimizers.Adam(0.001),
)
history = preferred_model.fit(X_train, y_train, epochs=5)
p_preferred = preferred_model.predict(X_train)
print("two example output vectors:\n", p_preferred[:2])
print("largest value", np.max(p_preferred), "smallest value", np.min(p_preferred))
sm_preferred = tf.nn.softmax(p_preferred).numpy()
print("two example output vectors:\n", sm_preferred[:2])
print("largest value", np.max(sm_preferred), "smallest value", np.min(sm_preferred))
for i in range(5):
    print(f"{p_preferred[i]}, category: {np.argmax(p_preferred[i])}")
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
