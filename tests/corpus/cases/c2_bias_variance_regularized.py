"""First course, week 3 assignment: complex vs regularized model (L2 0.1), 6 classes."""
import numpy as np
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.activations import relu, linear
from tensorflow.keras.losses import SparseCategoricalCrossentropy
from tensorflow.keras.optimizers import Adam

# stands in for the assignment's make_blobs data: 6 clusters, 2 features, 800 points
rng = np.random.default_rng(22)
centers = np.array([[-1, 0], [1, 0], [0, 1], [0, -1], [-2, 1], [-2, -1]])
y = rng.integers(0, 6, 800)
X = centers[y] + rng.normal(0, 0.5, (800, 2))
X_train, y_train = X[:400], y[:400]
X_cv, y_cv = X[400:], y[400:]

tf.random.set_seed(1234)
model_r = Sequential(
    [
        Dense(120, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(0.1),
              name="L1"),
        Dense(40, activation="relu", kernel_regularizer=tf.keras.regularizers.l2(0.1),
              name="L2"),
        Dense(6, activation="linear", name="L3"),
    ], name="ComplexRegularized"
)
model_r.compile(
    loss=SparseCategoricalCrossentropy(from_logits=True),
    optimizer=tf.keras.optimizers.Adam(0.01),
)
history = model_r.fit(X_train, y_train, epochs=60, verbose=0)
model_predict_r = lambda Xl: np.argmax(tf.nn.softmax(model_r.predict(Xl)).numpy(), axis=1)
cv_err = np.mean(model_predict_r(X_cv) != y_cv)
print(f"categorization error, cv, regularized: {cv_err:0.3f}")
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
