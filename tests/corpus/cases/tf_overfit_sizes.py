"""TensorFlow tutorial "Overfit and underfit": tiny, small and medium models, InverseTimeDecay."""
import numpy as np
import tensorflow as tf
from tensorflow.keras import layers
from tensorflow.keras import regularizers

FEATURES = 28
N_VALIDATION = 500
N_TRAIN = 2000
BUFFER_SIZE = N_TRAIN
BATCH_SIZE = 500
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE

# Stands in for the Higgs data set (28 features, binary label).
rng = np.random.default_rng(8)
X = rng.normal(size=(N_TRAIN + N_VALIDATION, FEATURES))
logit = X[:, :6] @ rng.normal(size=6) + 0.5 * np.sin(3 * X[:, 6]) * X[:, 7]
y = (logit + rng.logistic(size=len(X)) > 0).astype(np.float32)
train_x, train_y = X[:N_TRAIN], y[:N_TRAIN]
validate_x, validate_y = X[N_TRAIN:], y[N_TRAIN:]

lr_schedule = tf.keras.optimizers.schedules.InverseTimeDecay(
    0.001,
    decay_steps=STEPS_PER_EPOCH * 1000,
    decay_rate=1,
    staircase=False)


def get_optimizer():
    return tf.keras.optimizers.Adam(lr_schedule)


def get_callbacks(name):
    return [
        tf.keras.callbacks.EarlyStopping(monitor="val_binary_crossentropy", patience=200),
    ]


def compile_and_fit(model, name, optimizer=None, max_epochs=6):
    if optimizer is None:
        optimizer = get_optimizer()
    model.compile(optimizer=optimizer,
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[
                      tf.keras.losses.BinaryCrossentropy(
                          from_logits=True, name="binary_crossentropy"),
                      "accuracy"])
    model.summary()
    history = model.fit(
        train_x, train_y,
        batch_size=BATCH_SIZE,
        epochs=max_epochs,
        validation_data=(validate_x, validate_y),
        callbacks=get_callbacks(name),
        verbose=0)
    return history


size_histories = {}
tiny_model = tf.keras.Sequential([
    layers.Dense(16, activation="elu", input_shape=(FEATURES,)),
    layers.Dense(1)
])
size_histories["Tiny"] = compile_and_fit(tiny_model, "sizes/Tiny")
small_model = tf.keras.Sequential([
    # `input_shape` is only required here so that `.summary` works.
    layers.Dense(16, activation="elu", input_shape=(FEATURES,)),
    layers.Dense(16, activation="elu"),
    layers.Dense(1)
])
size_histories["Small"] = compile_and_fit(small_model, "sizes/Small")
medium_model = tf.keras.Sequential([
    layers.Dense(64, activation="elu", input_shape=(FEATURES,)),
    layers.Dense(64, activation="elu"),
    layers.Dense(64, activation="elu"),
    layers.Dense(1)
])
size_histories["Medium"] = compile_and_fit(medium_model, "sizes/Medium")
for name, history in size_histories.items():
    print(name, history.history["val_binary_crossentropy"][-1])
final_loss = size_histories["Medium"].history["loss"][-1]
print("final loss", final_loss)
