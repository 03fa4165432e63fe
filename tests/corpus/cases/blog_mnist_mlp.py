"""The classic Keras example mnist_mlp.py: 512-512-10 with Dropout, RMSprop, to_categorical."""
import numpy as np
from tensorflow import keras
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Dropout
from tensorflow.keras.optimizers import RMSprop

batch_size = 128
num_classes = 10
epochs = 2

# the data, split between train and test sets (stands in for mnist.load_data())
rng = np.random.default_rng(20)
prototypes = rng.integers(0, 256, (10, 28, 28))
y_train, y_test = rng.integers(0, 10, 1000), rng.integers(0, 10, 500)
x_train = ((prototypes[y_train] + rng.integers(0, 256, (1000, 28, 28))) // 2).astype("uint8")
x_test = ((prototypes[y_test] + rng.integers(0, 256, (500, 28, 28))) // 2).astype("uint8")
x_train = x_train.reshape(1000, 784)
x_test = x_test.reshape(500, 784)
x_train = x_train.astype("float32")
x_test = x_test.astype("float32")
x_train /= 255
x_test /= 255
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Dense(512, activation="relu", input_shape=(784,)))
model.add(Dropout(0.2))
model.add(Dense(512, activation="relu"))
model.add(Dropout(0.2))
model.add(Dense(num_classes, activation="softmax"))
model.summary()
model.compile(loss="categorical_crossentropy",
              optimizer=RMSprop(),
              metrics=["accuracy"])
history = model.fit(x_train, y_train,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=1,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
final_loss = score[0]
print("final loss", final_loss)
