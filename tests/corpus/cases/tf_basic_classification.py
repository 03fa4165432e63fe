"""TensorFlow tutorial "Basic classification: Classify images of clothing"."""
import numpy as np
import tensorflow as tf

print(tf.__version__)


def load_fashion_mnist():
    """Stands in for fashion_mnist.load_data() (uint8 28x28 images, 10 classes)."""
    rng = np.random.default_rng(10)
    prototypes = rng.integers(0, 256, (10, 28, 28))

    def split(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        noise = rng.integers(0, 256, (n, 28, 28))
        images = ((prototypes[labels] * 3 + noise * 2) // 5).astype(np.uint8)
        return images, labels

    return split(3000), split(500)


(train_images, train_labels), (test_images, test_labels) = load_fashion_mnist()
class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
print(train_images.shape, len(train_labels), train_labels)
train_images = train_images / 255.0
test_images = test_images / 255.0

model = tf.keras.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(10)
])
model.compile(optimizer="adam",
              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(train_images, train_labels, epochs=4)
test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print("\nTest accuracy:", test_acc)

probability_model = tf.keras.Sequential([model,
                                         tf.keras.layers.Softmax()])
predictions = probability_model.predict(test_images)
print(predictions[0])
print(np.argmax(predictions[0]), test_labels[0])
img = test_images[1]
print(img.shape)
img = (np.expand_dims(img, 0))
print(img.shape)
predictions_single = probability_model.predict(img)
print(predictions_single)
print(np.argmax(predictions_single[0]))
final_loss = test_loss
print("final loss", final_loss)
