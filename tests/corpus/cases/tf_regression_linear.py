"""TensorFlow tutorial "Basic regression: Predict fuel efficiency": Normalization + Dense."""
import numpy as np
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

np.set_printoptions(precision=3, suppress=True)
print(tf.__version__)


def load_auto_mpg():
    """Stands in for Auto MPG after dropna and one-hot origin: 392 rows, 9 features."""
    rng = np.random.default_rng(4)
    n = 392
    cylinders = rng.choice([4, 6, 8], n)
    displacement = cylinders * 40 + rng.normal(0, 20, n)
    horsepower = displacement * 0.45 + rng.normal(0, 10, n) + 20
    weight = displacement * 8 + rng.normal(0, 200, n) + 1500
    acceleration = 20 - horsepower / 20 + rng.normal(0, 1.5, n)
    model_year = rng.integers(70, 83, n)
    origin = np.eye(3)[rng.integers(0, 3, n)]
    mpg = (50 - horsepower * 0.12 - weight * 0.003 + (model_year - 70) * 0.7
           + rng.normal(0, 2.5, n))
    features = np.column_stack([cylinders, displacement, horsepower, weight, acceleration,
                                model_year, origin]).astype(np.float64)
    return features, mpg


features, labels = load_auto_mpg()
rng = np.random.default_rng(0)
train_index = rng.permutation(len(features))[: int(0.8 * len(features))]
test_mask = np.ones(len(features), bool)
test_mask[train_index] = False
train_features, test_features = features[train_index], features[test_mask]
train_labels, test_labels = labels[train_index], labels[test_mask]

normalizer = tf.keras.layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))
print(normalizer.mean.numpy())
first = np.array(train_features[:1])
with np.printoptions(precision=2, suppress=True):
    print("First example:", first)
    print()
    print("Normalized:", normalizer(first).numpy())

horsepower = np.array(train_features[:, 2])
horsepower_normalizer = layers.Normalization(input_shape=[1,], axis=None)
horsepower_normalizer.adapt(horsepower)
horsepower_model = tf.keras.Sequential([
    horsepower_normalizer,
    layers.Dense(units=1)
])
horsepower_model.summary()
print(horsepower_model.predict(horsepower[:10]))
horsepower_model.compile(
    optimizer=tf.keras.optimizers.Adam(learning_rate=0.1),
    loss="mean_absolute_error")
history = horsepower_model.fit(
    train_features[:, 2],
    train_labels,
    epochs=40,
    # Suppress logging.
    verbose=0,
    # Calculate validation results on 20% of the training data.
    validation_split=0.2)
print(history.history["val_loss"][-1])
test_results = {}
test_results["horsepower_model"] = horsepower_model.evaluate(
    test_features[:, 2], test_labels, verbose=0)
x = np.linspace(0.0, 250, 251)
y = horsepower_model.predict(x)

linear_model = tf.keras.Sequential([
    normalizer,
    layers.Dense(units=1)
])
print(linear_model.predict(train_features[:10]))
print(linear_model.layers[1].kernel)
linear_model.compile(
    optimizer=tf.keras.optimizers.Adam(learning_rate=0.1),
    loss="mean_absolute_error")
history = linear_model.fit(
    train_features,
    train_labels,
    epochs=40,
    verbose=0,
    validation_split=0.2)
test_results["linear_model"] = linear_model.evaluate(
    test_features, test_labels, verbose=0)
print(test_results)
final_loss = test_results["linear_model"]
print("final loss", final_loss)
