"""TensorFlow 2 quickstart for beginners (MNIST, Flatten-Dense-Dropout-Dense)."""
import numpy as np
import tensorflow as tf

print("TensorFlow version:", tf.__version__)

rng = np.random.default_rng(11)
prototypes = rng.integers(0, 256, (10, 28, 28))
y_train = rng.integers(0, 10, 3000)
y_test = rng.integers(0, 10, 500)
x_train = ((prototypes[y_train] + rng.integers(0, 256, (3000, 28, 28))) // 2).astype(np.uint8)
x_test = ((prototypes[y_test] + rng.integers(0, 256, (500, 28, 28))) // 2).astype(np.uint8)
x_train, x_test = x_train / 255.0, x_test / 255.0

model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10)
])
predictions = model(x_train[:1]).numpy()
print(predictions)
print(tf.nn.softmax(predictions).numpy())
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
print(loss_fn(y_train[:1], predictions).numpy())
model.compile(optimizer="adam",
              loss=loss_fn,
              metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3)
loss, accuracy = model.evaluate(x_test, y_test, verbose=2)
probability_model = tf.keras.Sequential([
    model,
    tf.keras.layers.Softmax()
])
print(probability_model(x_test[:5]))
final_loss = loss
print("final loss", final_loss)
