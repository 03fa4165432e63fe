"""First course, week 1 lab: neurons and layers (a linear and a logistic neuron)."""
import numpy as np
import tensorflow as tf
from tensorflow.keras import Sequential
from tensorflow.keras.layers import Dense

X_train = np.array([[1.0], [2.0]], dtype=np.float32)
Y_train = np.array([[300.0], [500.0]], dtype=np.float32)

linear_layer = tf.keras.layers.Dense(units=1, activation="linear")
a1 = linear_layer(X_train[0].reshape(1, 1))
print(a1)
w, b = linear_layer.get_weights()
print(f"w = {w}, b={b}")
set_w = np.array([[200]])
set_b = np.array([100])
linear_layer.set_weights([set_w, set_b])
print(linear_layer.get_weights())
a1 = linear_layer(X_train[0].reshape(1, 1))
print(a1)
alin = np.dot(set_w, X_train[0].reshape(1, 1)) + set_b
print(alin)
prediction_tf = linear_layer(X_train)
prediction_np = np.dot(X_train, set_w) + set_b

X_log = np.array([0., 1, 2, 3, 4, 5], dtype=np.float32).reshape(-1, 1)
Y_log = np.array([0, 0, 0, 1, 1, 1], dtype=np.float32).reshape(-1, 1)
model = Sequential([tf.keras.layers.Dense(1, input_dim=1, activation="sigmoid", name="L1")])
model.summary()
logistic_layer = model.get_layer("L1")
w, b = logistic_layer.get_weights()
print(w, b)
print(w.shape, b.shape)
set_w = np.array([[2]])
set_b = np.array([-4.5])
logistic_layer.set_weights([set_w, set_b])
print(logistic_layer.get_weights())
a1 = model.predict(X_log[0].reshape(1, 1))
print(a1)
alog = 1 / (1 + np.exp(-(np.dot(set_w, X_log[0].reshape(1, 1)) + set_b)))
print(alog)

# The lab then trains the same neuron briefly (kept short here).
model.compile(loss=tf.keras.losses.BinaryCrossentropy(),
              optimizer=tf.keras.optimizers.Adam(learning_rate=0.01))
model.fit(X_log, Y_log, epochs=20, verbose=0)
final_loss = float(model.evaluate(X_log, Y_log, verbose=0))
print("final loss", final_loss)
