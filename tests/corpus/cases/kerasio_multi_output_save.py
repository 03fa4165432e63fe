"""keras.io guide "The Functional API", models with multiple inputs and outputs (its
ticket example, with the text encoders replaced by dense layers over features), then
"Save, serialize, and export models": save as .keras, reload, train on."""
import os
import tempfile

import numpy as np
import keras
from keras import layers

num_tags = 12
num_departments = 4

title_input = keras.Input(shape=(20,), name="title")
body_input = keras.Input(shape=(30,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.Dense(16, activation="relu")(title_input)
body_features = layers.Dense(16, activation="relu")(body_input)
x = layers.concatenate([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
model.summary()

rng = np.random.default_rng(21)
title_data = rng.normal(size=(640, 20))
body_data = rng.normal(size=(640, 30))
tags_data = rng.integers(0, 2, size=(640, num_tags)).astype("float32")
priority_targets = (title_data[:, :2].sum(axis=1, keepdims=True) + 0.1 * tags_data[:, :1])
dept_targets = keras.utils.to_categorical((body_data[:, :4]).argmax(axis=1), num_departments)

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.MeanSquaredError(),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
    metrics={"department": ["accuracy"]},
)
inputs = {"title": title_data, "body": body_data, "tags": tags_data}
targets = {"priority": priority_targets, "department": dept_targets}
model.fit(inputs, targets, epochs=2, batch_size=32, verbose=0)

workdir = tempfile.mkdtemp()
model.save(os.path.join(workdir, "ticket.keras"))
reconstructed = keras.models.load_model(os.path.join(workdir, "ticket.keras"))
before, after = model.predict(inputs, verbose=0), reconstructed.predict(inputs, verbose=0)
for name in ("priority", "department"):
    np.testing.assert_allclose(before[name], after[name], rtol=1e-5, atol=1e-6)
model.save_weights(os.path.join(workdir, "ticket.weights.h5"))
reconstructed.load_weights(os.path.join(workdir, "ticket.weights.h5"))

history = reconstructed.fit(inputs, targets, epochs=3, batch_size=32, verbose=0)
print(sorted(history.history))
final_loss = history.history["loss"][-1]
print("final loss", final_loss)
