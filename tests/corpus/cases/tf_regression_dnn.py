"""TensorFlow tutorial "Basic regression": the DNN models (Normalization, 64-64-1)."""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

rng = np.random.default_rng(5)
n = 392
X = rng.normal(size=(n, 9)) * [1.7, 104, 38, 850, 2.8, 3.7, 0.5, 0.4, 0.4] \
    + [5.5, 194, 104, 2978, 15.5, 76, 0.6, 0.2, 0.2]
mpg = 46 - 0.1 * X[:, 2] - 0.004 * X[:, 3] + 0.6 * (X[:, 5] - 70) + rng.normal(0, 2.5, n)
train_features, test_features = X[:314], X[314:]
train_labels, test_labels = mpg[:314], mpg[314:]

normalizer = tf.keras.layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))


def build_and_compile_model(norm):
    model = keras.Sequential([
        norm,
        layers.Dense(64, activation="relu"),
        layers.Dense(64, activation="relu"),
        layers.Dense(1)
    ])
    model.compile(loss="mean_absolute_error",
                  optimizer=tf.keras.optimizers.Adam(0.001))
    return model


horsepower = np.array(train_features[:, 2])
horsepower_normalizer = layers.Normalization(input_shape=[1,], axis=None)
horsepower_normalizer.adapt(horsepower)
dnn_horsepower_model = build_and_compile_model(horsepower_normalizer)
dnn_horsepower_model.summary()
history = dnn_horsepower_model.fit(
    train_features[:, 2],
    train_labels,
    validation_split=0.2,
    verbose=0, epochs=30)
x = tf.linspace(0.0, 250, 251)
y = dnn_horsepower_model.predict(x)
test_results = {}
test_results["dnn_horsepower_model"] = dnn_horsepower_model.evaluate(
    test_features[:, 2], test_labels,
    verbose=0)

dnn_model = build_and_compile_model(normalizer)
dnn_model.summary()
history = dnn_model.fit(
    train_features,
    train_labels,
    validation_split=0.2,
    verbose=0, epochs=30)
test_results["dnn_model"] = dnn_model.evaluate(test_features, test_labels, verbose=0)
print(test_results)
test_predictions = dnn_model.predict(test_features).flatten()
error = test_predictions - test_labels
print(np.mean(np.abs(error)))
final_loss = test_results["dnn_model"]
print("final loss", final_loss)
