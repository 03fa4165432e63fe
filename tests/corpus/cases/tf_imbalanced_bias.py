"""TensorFlow tutorial "Classification on imbalanced data": metrics, output bias, early stop."""
import numpy as np
import tensorflow as tf
from tensorflow import keras


def load_creditcard():
    """Stands in for the credit card fraud table: 29 features, ~0.6% positives."""
    rng = np.random.default_rng(6)
    n = 20000
    labels = (rng.random(n) < 0.006).astype(np.float64)
    features = rng.normal(size=(n, 29))
    features[labels == 1, :5] += 2.5
    return features, labels


features, labels = load_creditcard()
neg, pos = np.bincount(labels.astype(int))
total = neg + pos
print("Examples:\n    Total: {}\n    Positive: {} ({:.2f}% of total)\n".format(
    total, pos, 100 * pos / total))

# train/val/test split and standard scaling, as the tutorial does with scikit-learn
order = np.random.default_rng(0).permutation(total)
train, val, test = order[:12800], order[12800:16000], order[16000:]
mean, std = features[train].mean(axis=0), features[train].std(axis=0)
train_features = np.clip((features[train] - mean) / std, -5, 5)
val_features = np.clip((features[val] - mean) / std, -5, 5)
test_features = np.clip((features[test] - mean) / std, -5, 5)
# the tutorial keeps the labels as columns: np.array(train_df.pop("Class")).reshape(-1, 1)
train_labels, val_labels, test_labels = (labels[i].reshape(-1, 1) for i in (train, val, test))
bool_train_labels = train_labels[:, 0] != 0

METRICS = [
    keras.metrics.BinaryCrossentropy(name="cross entropy"),  # same as model's loss
    keras.metrics.MeanSquaredError(name="Brier score"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.BinaryAccuracy(name="accuracy"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
    keras.metrics.AUC(name="auc"),
    keras.metrics.AUC(name="prc", curve="PR"),  # precision-recall curve
]


def make_model(metrics=METRICS, output_bias=None):
    if output_bias is not None:
        output_bias = tf.keras.initializers.Constant(output_bias)
    model = keras.Sequential([
        keras.layers.Dense(
            16, activation="relu",
            input_shape=(train_features.shape[-1],)),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid",
                           bias_initializer=output_bias),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=metrics)
    return model


EPOCHS = 8
BATCH_SIZE = 2048

early_stopping = tf.keras.callbacks.EarlyStopping(
    monitor="val_prc",
    verbose=1,
    patience=10,
    mode="max",
    restore_best_weights=True)

model = make_model()
model.summary()
print(model.predict(train_features[:10]))
results = model.evaluate(train_features, train_labels, batch_size=BATCH_SIZE, verbose=0)
print("Loss: {:0.4f}".format(results[0]))

initial_bias = np.log([pos / neg])
print(initial_bias)
model = make_model(output_bias=initial_bias)
print(model.predict(train_features[:10]))
results = model.evaluate(train_features, train_labels, batch_size=BATCH_SIZE, verbose=0)
print("Loss: {:0.4f}".format(results[0]))

baseline_history = model.fit(
    train_features,
    train_labels,
    batch_size=BATCH_SIZE,
    epochs=EPOCHS,
    callbacks=[early_stopping],
    validation_data=(val_features, val_labels))
train_predictions_baseline = model.predict(train_features, batch_size=BATCH_SIZE)
test_predictions_baseline = model.predict(test_features, batch_size=BATCH_SIZE)
baseline_results = model.evaluate(test_features, test_labels,
                                  batch_size=BATCH_SIZE, verbose=0)
for name, value in zip(model.metrics_names, baseline_results):
    print(name, ": ", value)
final_loss = baseline_results[0]
print("final loss", final_loss)
