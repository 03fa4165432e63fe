"""First course, week 1 assignment: handwritten digits 0/1 with a 25-15-1 network."""
import numpy as np
import tensorflow as tf
from tensorflow.keras import Sequential
from tensorflow.keras.layers import Dense


def load_data():
    """Stands in for the 1000 20x20 images of 0 and 1 (X: 1000x400, y: 1000x1)."""
    rng = np.random.default_rng(1)
    y = (np.arange(1000) >= 500).astype(np.float64).reshape(-1, 1)
    centers = rng.random((2, 400))
    X = np.clip(centers[y[:, 0].astype(int)] * 0.6 + rng.random((1000, 400)) * 0.4, 0, 1)
    return X, y


X, y = load_data()
print("The shape of X is: " + str(X.shape))
print("The shape of y is: " + str(y.shape))

model = Sequential(
    [
        tf.keras.Input(shape=(400,)),
        Dense(25, activation="sigmoid"),
        Dense(15, activation="sigmoid"),
        Dense(1, activation="sigmoid"),
    ], name="my_model"
)
model.summary()
L1_num_params = 400 * 25 + 25
L2_num_params = 25 * 15 + 15
L3_num_params = 15 * 1 + 1
print("L1 params = ", L1_num_params, ", L2 params = ", L2_num_params,
      ",  L3 params = ", L3_num_params)
[layer1, layer2, layer3] = model.layers
W1, b1 = layer1.get_weights()
W2, b2 = layer2.get_weights()
W3, b3 = layer3.get_weights()
print(f"W1 shape = {W1.shape}, b1 shape = {b1.shape}")
print(model.layers[2].weights)

model.compile(
    loss=tf.keras.losses.BinaryCrossentropy(),
    optimizer=tf.keras.optimizers.Adam(0.001),
)
model.fit(X, y, epochs=20)

prediction = model.predict(X[0].reshape(1, 400))  # a zero
print(f" predicting a zero: {prediction}")
prediction = model.predict(X[500].reshape(1, 400))  # a one
print(f" predicting a one:  {prediction}")
if prediction >= 0.5:
    yhat = 1
else:
    yhat = 0
print(f"prediction after threshold: {yhat}")


def my_dense(a_in, W, b, g):
    units = W.shape[1]
    a_out = np.zeros(units)
    for j in range(units):
        w = W[:, j]
        z = np.dot(w, a_in) + b[j]
        a_out[j] = g(z)
    return a_out


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


W1_tmp, b1_tmp = layer1.get_weights()
W2_tmp, b2_tmp = layer2.get_weights()
W3_tmp, b3_tmp = layer3.get_weights()
a1 = my_dense(X[0], W1_tmp, b1_tmp, sigmoid)
a2 = my_dense(a1, W2_tmp, b2_tmp, sigmoid)
a3 = my_dense(a2, W3_tmp, b3_tmp, sigmoid)
assert abs(a3[0] - float(model.predict(X[0].reshape(1, 400))[0, 0])) < 1e-4
final_loss = float(model.evaluate(X, y, verbose=0))
print("final loss", final_loss)
