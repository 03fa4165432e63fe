"""First course, week 2 assignment: digits 0-9 with ReLU and a softmax-from-logits output."""
import numpy as np
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.activations import linear, relu, sigmoid


def load_data():
    """Stands in for the 5000 20x20 digit images (X: 5000x400, y: 5000x1)."""
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(10), 200).reshape(-1, 1)
    centers = rng.random((10, 400))
    X = centers[y[:, 0]] * 0.5 + rng.random((2000, 400)) * 0.5
    return X, y


def my_softmax(z):
    ez = np.exp(z)
    return ez / np.sum(ez)


z = np.array([1., 2., 3., 4.])
a = my_softmax(z)
atf = tf.nn.softmax(z)
print(f"my_softmax(z):         {a}")
print(f"tensorflow softmax(z): {atf}")

X, y = load_data()
tf.random.set_seed(1234)  # for consistent results
model = Sequential(
    [
        tf.keras.Input(shape=(400,)),
        Dense(25, activation="relu", name="L1"),
        Dense(15, activation="relu", name="L2"),
        Dense(10, activation="linear", name="L3"),
    ], name="my_model"
)
model.summary()
[layer1, layer2, layer3] = model.layers
W1, b1 = layer1.get_weights()
print(f"W1 shape = {W1.shape}, b1 shape = {b1.shape}")
model.compile(
    loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
)
history = model.fit(X, y, epochs=10)

image_of_two = X[400]
prediction = model.predict(image_of_two.reshape(1, 400))
print(f" predicting a Two: \n{prediction}")
print(f" Largest Prediction index: {np.argmax(prediction)}")
prediction_p = tf.nn.softmax(prediction)
print(f" predicting a Two. Probability vector: \n{prediction_p}")
print(f"Total of predictions: {np.sum(prediction_p):0.3f}")
yhat = np.argmax(prediction_p)
print(f"np.argmax(prediction_p): {yhat}")
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
