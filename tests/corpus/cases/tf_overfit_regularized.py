"""TensorFlow tutorial "Overfit and underfit": L2, dropout, and both combined."""
import numpy as np
import tensorflow as tf
from tensorflow.keras import layers
from tensorflow.keras import regularizers

FEATURES = 28
N_TRAIN = 1000
BATCH_SIZE = 250
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE

rng = np.random.default_rng(9)
X = rng.normal(size=(N_TRAIN + 500, FEATURES))
# labels as a column: Keras 3 metrics.BinaryCrossentropy refuses (n,) against (n, 1)
y = (X[:, :6] @ rng.normal(size=6) + rng.logistic(size=len(X)) > 0).astype(np.float32)
y = y.reshape(-1, 1)
train_x, train_y, validate_x, validate_y = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]

lr_schedule = tf.keras.optimizers.schedules.InverseTimeDecay(
    0.001, decay_steps=STEPS_PER_EPOCH * 1000, decay_rate=1, staircase=False)


def compile_and_fit(model, name, max_epochs=3):
    model.compile(optimizer=tf.keras.optimizers.Adam(lr_schedule),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[
                      tf.keras.metrics.BinaryCrossentropy(
                          from_logits=True, name="binary_crossentropy"),
                      "accuracy"])
    return model.fit(train_x, train_y, batch_size=BATCH_SIZE, epochs=max_epochs,
                     validation_data=(validate_x, validate_y), verbose=0)


regularizer_histories = {}
l2_model = tf.keras.Sequential([
    layers.Dense(512, activation="elu",
                 kernel_regularizer=regularizers.l2(0.001),
                 input_shape=(FEATURES,)),
    layers.Dense(512, activation="elu",
                 kernel_regularizer=regularizers.l2(0.001)),
    layers.Dense(1)
])
regularizer_histories["l2"] = compile_and_fit(l2_model, "regularizers/l2")
result = l2_model(train_x[:4])
regularization_loss = tf.add_n(l2_model.losses)
print(result, regularization_loss)

dropout_model = tf.keras.Sequential([
    layers.Dense(512, activation="elu", input_shape=(FEATURES,)),
    layers.Dropout(0.5),
    layers.Dense(512, activation="elu"),
    layers.Dropout(0.5),
    layers.Dense(1)
])
regularizer_histories["dropout"] = compile_and_fit(dropout_model, "regularizers/dropout")

combined_model = tf.keras.Sequential([
    layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001),
                 activation="elu", input_shape=(FEATURES,)),
    layers.Dropout(0.5),
    layers.Dense(512, kernel_regularizer=regularizers.l2(0.0001),
                 activation="elu"),
    layers.Dropout(0.5),
    layers.Dense(1)
])
regularizer_histories["combined"] = compile_and_fit(combined_model, "regularizers/combined")
final_loss = regularizer_histories["combined"].history["val_loss"][-1]
print("final loss", final_loss)
