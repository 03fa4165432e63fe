"""The README's "Already training in PyTorch or Keras?" block runs as written."""

import re
import runpy
from pathlib import Path

import numpy as np

from frameworks import need

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_pytorch_and_keras_section_runs(tmp_path, monkeypatch, capsys):
    need("torch")
    need("keras")
    section = README.read_text().split("## Already training in PyTorch or Keras?", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "frameworks.py"
    script.write_text(code)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GLASSNET_STORE", raising=False)
    namespace = runpy.run_path(str(script))
    import glassnet as gn

    store = gn.track.open_store(tmp_path / "glassnet-runs")
    torch_run, keras_run = (store.runs(project=p)[0] for p in ("digits-torch", "digits-keras"))
    steps_per_epoch = -(-len(namespace["X"]) // 32)
    assert len(store.metrics(torch_run.id, "loss")[0]) == 3 * steps_per_epoch
    assert store.param_paths(torch_run.id)[:2] == ["dense/bias", "dense/kernel"]
    kernel = store.snapshot(torch_run.id, "end")["dense/kernel"]
    assert np.array_equal(kernel, namespace["net"][0].weight.detach().numpy().T)
    assert "epoch/val_accuracy" in store.metric_keys(keras_run.id)
    assert "Weights and biases of 'torch_sequential'" in capsys.readouterr().out
