"""Blog "Regression tutorial with the Keras deep learning library" (Boston housing, 13-6-1)."""
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense

rng = np.random.default_rng(21)
X = rng.normal(size=(506, 13))
Y = 22.5 + X @ rng.normal(0, 2, 13) + 1.5 * np.maximum(X[:, 0], 0) + rng.normal(0, 2, 506)
# standardize, as the blog's StandardScaler pipeline does
X = (X - X.mean(axis=0)) / X.std(axis=0)


# define the model
def larger_model():
    # create model
    model = Sequential()
    model.add(Dense(13, input_shape=(13,), kernel_initializer="normal", activation="relu"))
    model.add(Dense(6, kernel_initializer="normal", activation="relu"))
    model.add(Dense(1, kernel_initializer="normal"))
    # Compile model
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


model = larger_model()
history = model.fit(X[:400], Y[:400], epochs=40, batch_size=5, verbose=0)
final_loss = model.evaluate(X[400:], Y[400:], verbose=0)
print("MSE: %.2f" % final_loss)
print("final loss", final_loss)
