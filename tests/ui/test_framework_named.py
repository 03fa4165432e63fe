"""The run page names what trained the run: glassnet, PyTorch or Keras, with its version."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui_helpers import make_client  # noqa: E402

import glassnet as gn  # noqa: E402
from frameworks import need  # noqa: E402


def test_run_detail_names_pytorch_and_glassnet(tmp_path):
    torch = need("torch")
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    run = gn.track.init("fw", store=tmp_path)
    run.watch(model, log_freq=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(8, 3)
    for _ in range(2):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        run.step(loss=loss)
    run.finish()
    own = gn.track.init("fw", store=tmp_path)
    own.log({"loss": 1.0})
    own.finish()
    with make_client(tmp_path) as client:
        torch_detail = client.get(f"/api/runs/{run.id}").json()
        own_detail = client.get(f"/api/runs/{own.id}").json()
        script = client.get("/static/pages.js").text
    assert torch_detail["framework"] == {"name": "PyTorch", "version": torch.__version__}
    assert torch_detail["run"]["env"]["framework"]["name"] == "PyTorch"
    assert own_detail["framework"] == {"name": "glassnet",
                                       "version": own_detail["run"]["env"]["glassnet"]}
    assert "detail.framework.name" in script  # the run page's header shows it


def test_run_detail_names_keras(tmp_path):
    keras = need("keras")
    from glassnet.track.keras import Watch

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    run = gn.track.init("fw", store=tmp_path)
    x = np.ones((4, 3), dtype="float32")
    model.fit(x, x[:, :2], epochs=1, verbose=0, callbacks=[Watch(run)])
    run.finish()
    with make_client(tmp_path) as client:
        detail = client.get(f"/api/runs/{run.id}").json()
    assert detail["framework"]["name"] == "Keras"
    assert detail["framework"]["version"].startswith(keras.__version__)
