"""keras.io guide "The Functional API": the MNIST MLP, train, evaluate, save and reload."""
import os
import tempfile

import numpy as np
import keras
from keras import layers

inputs = keras.Input(shape=(784,))
img_inputs = keras.Input(shape=(32, 32, 3))
print(inputs.shape, inputs.dtype)
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()

rng = np.random.default_rng(14)
prototypes = rng.random((10, 784))
y_train, y_test = rng.integers(0, 10, 3000), rng.integers(0, 10, 500)
x_train = (prototypes[y_train] + rng.random((3000, 784))) / 2
x_test = (prototypes[y_test] + rng.random((500, 784))) / 2
x_train = x_train.reshape(3000, 784).astype("float32")
x_test = x_test.reshape(500, 784).astype("float32")

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2)
test_scores = model.evaluate(x_test, y_test, verbose=2)
print("Test loss:", test_scores[0])
print("Test accuracy:", test_scores[1])

path = os.path.join(tempfile.mkdtemp(), "my_model.keras")
model.save(path)
del model
# Recreate the exact same model purely from the file:
model = keras.models.load_model(path)
assert abs(model.evaluate(x_test, y_test, verbose=0)[0] - test_scores[0]) < 1e-5
final_loss = test_scores[0]
print("final loss", final_loss)
