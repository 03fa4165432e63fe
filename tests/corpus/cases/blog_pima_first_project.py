"""Blog "Your first deep learning project in Python with Keras step-by-step" (Pima diabetes)."""
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense

# load the dataset (stands in for pima-indians-diabetes.csv: 768 rows, 8 inputs, 1 label)
rng = np.random.default_rng(19)
dataset = np.column_stack([
    rng.integers(0, 17, 768), rng.normal(121, 32, 768), rng.normal(69, 19, 768),
    rng.normal(21, 16, 768), rng.normal(80, 115, 768), rng.normal(32, 8, 768),
    rng.gamma(2, 0.24, 768), rng.integers(21, 81, 768)])
score = (dataset[:, 1] - 121) / 32 + (dataset[:, 5] - 32) / 8 + (dataset[:, 7] - 33) / 12
dataset = np.column_stack([dataset, (score + rng.logistic(size=768) > 0.6)])
# split into input (X) and output (y) variables
X = dataset[:, 0:8]
y = dataset[:, 8]
# define the keras model
model = Sequential()
model.add(Dense(12, input_shape=(8,), activation="relu"))
model.add(Dense(8, activation="relu"))
model.add(Dense(1, activation="sigmoid"))
# compile the keras model
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
# fit the keras model on the dataset
model.fit(X, y, epochs=30, batch_size=10, verbose=0)
# evaluate the keras model
loss, accuracy = model.evaluate(X, y)
print("Accuracy: %.2f" % (accuracy * 100))
# make class predictions with the model
predictions = (model.predict(X) > 0.5).astype(int)
# summarize the first 5 cases
# (the blog prints predictions[i], a 1-element array, with %d: NumPy 2 refuses that)
for i in range(5):
    print("%s => %d (expected %d)" % (X[i].tolist(), predictions[i, 0], y[i]))
final_loss = loss
print("final loss", final_loss)
