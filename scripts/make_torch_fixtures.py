"""Make glassnet's PyTorch state-dict test fixtures with the real PyTorch.

Run by hand in the peer environment, then commit the small files it writes::

    .venv-bench/bin/python scripts/make_torch_fixtures.py

For each model ``<name>`` it writes into ``tests/data/torch/``:

``<name>.safetensors``
    ``model.state_dict()`` saved with ``safetensors.torch.save_file`` -- exactly
    what a user would have. Keys are ``"<index>.weight"`` (shape (out, in), the
    transpose of a glassnet kernel) and ``"<index>.bias"`` (shape (out,)), where
    index is the module's position in the ``nn.Sequential`` (activations take
    indices too, so Linear layers are 0, 2, 4, ...).
``<name>.io.safetensors``
    an input batch ``x`` and the model's output ``y`` (float32).
``<name>.json``
    the architecture, so a test can build the same glassnet model: input size,
    and per Linear layer its state-dict prefix, units, use_bias and the
    activation that follows it (glassnet/Keras names).

``mismatched.safetensors`` is a state dict for ``mlp_relu``'s architecture whose
second Linear has the wrong shape, for the error test. No pickle is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "tests" / "data" / "torch"

# torch activation module -> the glassnet / Keras activation name
ACTIVATION_NAMES = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}


def describe(model: nn.Sequential, n_inputs: int, name: str) -> dict:
    """The architecture as JSON: each Linear with the activation after it."""
    layers = []
    for index, module in enumerate(model):
        if isinstance(module, nn.Linear):
            layers.append({"prefix": str(index), "units": module.out_features,
                           "use_bias": module.bias is not None, "activation": "linear"})
        else:
            layers[-1]["activation"] = ACTIVATION_NAMES[type(module)]
    return {"name": name, "input_shape": [n_inputs], "layers": layers,
            "torch_version": torch.__version__,
            "note": "weight is (out, in): glassnet kernel = weight.T"}


def save_model(model: nn.Sequential, n_inputs: int, name: str, seed: int) -> None:
    """Write the state dict, an input/output pair and the architecture JSON."""
    x = torch.from_numpy(np.random.RandomState(seed).standard_normal((5, n_inputs))
                         .astype(np.float32))
    with torch.no_grad():
        y = model(x)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(OUT_DIR / f"{name}.safetensors"))
    save_file({"x": x, "y": y.contiguous()}, str(OUT_DIR / f"{name}.io.safetensors"))
    (OUT_DIR / f"{name}.json").write_text(
        json.dumps(describe(model, n_inputs, name), indent=2) + "\n")


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    relu = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    save_model(relu, 4, "mlp_relu", seed=1)

    # A Linear without bias, and Tanh and Sigmoid activations.
    mixed = nn.Sequential(nn.Linear(3, 5, bias=False), nn.Tanh(),
                          nn.Linear(5, 4), nn.Sigmoid(), nn.Linear(4, 2))
    save_model(mixed, 3, "mlp_nobias_tanh_sigmoid", seed=2)

    # mlp_relu's keys, but "2.weight" is (3, 7) instead of (3, 8).
    state = {k: v.clone().contiguous() for k, v in relu.state_dict().items()}
    state["2.weight"] = torch.zeros(3, 7)
    save_file(state, str(OUT_DIR / "mismatched.safetensors"))

    for path in sorted(OUT_DIR.iterdir()):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
