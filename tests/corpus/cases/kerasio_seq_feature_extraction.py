"""keras.io guide "The Sequential model": feature extraction and transfer with trainable=False."""
import numpy as np
import keras
from keras import layers

initial_model = keras.Sequential(
    [
        keras.Input(shape=(250,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs,
    outputs=[layer.output for layer in initial_model.layers],
)
x = np.ones((1, 250))
features = feature_extractor(x)
print([f.shape for f in features])

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(32, activation="relu"),
    layers.Dense(10),
])
# Presumably you would want to first load pre-trained weights.
# Freeze all layers except the last one.
for layer in model.layers[:-1]:
    layer.trainable = False
frozen = [w.copy() for w in model.layers[0].get_weights()]

rng = np.random.default_rng(13)
x_train = rng.random((1000, 784)).astype("float32")
y_train = rng.integers(0, 10, 1000)
model.compile(optimizer="adam",
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
history = model.fit(x_train, y_train, epochs=3, verbose=0)
assert all(np.array_equal(a, b) for a, b in zip(frozen, model.layers[0].get_weights()))
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
