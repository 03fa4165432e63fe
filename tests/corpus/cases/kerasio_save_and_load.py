"""keras.io guide "Save, serialize, and export models": .keras, weights, JSON config."""
import os
import tempfile

import numpy as np
import keras


def get_model():
    # Create a simple model.
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


workdir = tempfile.mkdtemp()
rng = np.random.default_rng(18)
test_input = rng.random((128, 32))
test_target = rng.random((128, 1))

model = get_model()
# Train the model.
model.fit(test_input, test_target)
# Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
model.save(os.path.join(workdir, "my_model.keras"))
# It can be used to reconstruct the model identically.
reconstructed_model = keras.models.load_model(os.path.join(workdir, "my_model.keras"))
# Let's check:
np.testing.assert_allclose(
    model.predict(test_input), reconstructed_model.predict(test_input), rtol=1e-6
)

model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
json_config = model.to_json()
new_model = keras.models.model_from_json(json_config)


def create_layer():
    layer = keras.layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1 = create_layer()
layer_2 = create_layer()
# Copy weights from layer 1 to layer 2
layer_2.set_weights(layer_1.get_weights())


def create_sequential():
    sequential = keras.Sequential([
        keras.Input(shape=(784,), name="digits"),
        keras.layers.Dense(64, activation="relu", name="dense_1"),
        keras.layers.Dense(64, activation="relu", name="dense_2"),
        keras.layers.Dense(10, name="predictions"),
    ])
    sequential.compile(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return sequential


x = rng.random((600, 784))
y = rng.integers(0, 10, 600)
sequential = create_sequential()
history = sequential.fit(x, y, batch_size=64, epochs=2, verbose=0)
weights_path = os.path.join(workdir, "ckpt.weights.h5")
sequential.save_weights(weights_path)
fresh = create_sequential()
fresh.load_weights(weights_path)
np.testing.assert_allclose(sequential.predict(x), fresh.predict(x), rtol=1e-5, atol=1e-6)
final_loss = float(fresh.evaluate(x, y, verbose=0))
print("final loss", final_loss)
