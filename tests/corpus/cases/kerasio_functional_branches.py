"""keras.io guide "The Functional API": a model with two inputs, branches that merge."""
import numpy as np
import keras
from keras import layers

num_features_a = 12
num_features_b = 6
num_classes = 3

input_a = keras.Input(shape=(num_features_a,), name="wide")
input_b = keras.Input(shape=(num_features_b,), name="deep")
x = layers.Dense(32, activation="relu")(input_b)
x = layers.Dense(32, activation="relu")(x)
shortcut = layers.Dense(32)(input_b)
x = layers.add([x, shortcut])
x = layers.concatenate([input_a, x])
outputs = layers.Dense(num_classes, name="priority")(x)
model = keras.Model(inputs=[input_a, input_b], outputs=outputs)
model.summary()

rng = np.random.default_rng(15)
a_data = rng.normal(size=(1200, num_features_a))
b_data = rng.normal(size=(1200, num_features_b))
targets = (a_data[:, :3] + b_data[:, :3] ** 2).argmax(axis=1)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit([a_data, b_data], targets, epochs=5, batch_size=32, verbose=0)
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
