"""Make ``tests/io/data/keras_resume.safetensors``: Keras continuing a saved training run.

Run by hand in the peer environment (it needs the real Keras), then commit the file::

    KERAS_BACKEND=torch .venv-bench/bin/python tests/io/make_keras_resume_fixture.py

It loads ``tests/data/keras/trained_mlp.keras`` (Adam, trained 2 epochs, 8 steps,
made by ``scripts/make_keras_fixtures.py``) with Keras, trains it 2 more epochs on
fixed data with ``shuffle=False``, and writes the data (``x``, ``y``) and Keras's
weights afterwards (``final/<i>``, ``get_weights()`` order). glassnet must reach the
same weights from the same file, which it can only do if it restored Adam's step
count and slots. No pickle is written.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tests" / "data" / "keras" / "trained_mlp.keras"
TARGET = ROOT / "tests" / "io" / "data" / "keras_resume.safetensors"


def main() -> None:
    torch.set_num_threads(1)  # single-threaded reductions: the same bits every run
    rs = np.random.RandomState(11)
    x = rs.standard_normal((32, 2)).astype(np.float32)
    y = (x[:, :1] > x[:, 1:]).astype(np.float32)
    model = keras.models.load_model(SOURCE)
    steps_before = int(model.optimizer.iterations)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    tensors = {"x": x, "y": y}
    for i, weight in enumerate(model.get_weights()):
        tensors[f"final/{i}"] = np.ascontiguousarray(weight)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(TARGET), metadata={
        "keras_version": keras.__version__, "backend": keras.backend.backend(),
        "steps_before": str(steps_before), "steps_after": str(int(model.optimizer.iterations))})
    print(f"{TARGET.relative_to(ROOT)}: {steps_before} -> "
          f"{int(model.optimizer.iterations)} steps")


if __name__ == "__main__":
    main()
