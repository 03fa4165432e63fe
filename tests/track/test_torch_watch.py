"""run.watch(torch_module) + run.step(loss=...) against the real PyTorch's own tensors."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import glassnet as gn  # noqa: E402
from frameworks import need  # noqa: E402
from glassnet.errors import ConfigError  # noqa: E402

torch = need("torch")
nn = torch.nn


@pytest.fixture(params=["process", "thread", "device"])
def keeping(request, monkeypatch):
    """Where logged steps are summarised: CPU steps in the statistics process (made
    ready first) or in the summariser thread; or with torch ops, as on a GPU."""
    from glassnet.track import stats_process as sp
    from glassnet.track import torch_watch

    if request.param == "device":
        from glassnet.track.torch_stats import DeviceSteps

        monkeypatch.setattr(torch_watch, "_step_sink",
                            lambda torch, run, recorder, params, paths, layers, histograms,
                            log_freq: DeviceSteps(torch, recorder, params, layers, histograms))
        yield request.param
        return
    monkeypatch.setenv("GLASSNET_STATS_PROCESS", "1" if request.param == "process" else "0")
    if request.param == "thread":
        yield request.param
        return
    monkeypatch.setattr(sp, "_process", None)
    process = sp.stats_process()
    deadline = time.monotonic() + 60
    while not process.ready and process.broken is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.ready, process.broken
    submitted = []
    submit = process.submit
    monkeypatch.setattr(process, "submit", lambda job: submitted.append(1) or submit(job))
    yield request.param
    process.close()
    assert submitted, "no set went to the statistics process"


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 5), nn.Tanh(),
                         nn.Linear(5, 3))


def _data(n=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)


def _train(run, model, steps, watch_kwargs, truth_every=None, batch=8):
    """A plain loop; at each step of ``truth_every`` keeps the module's own tensors."""
    run.watch(model, **watch_kwargs)
    X, y = _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    truth = {}
    for step in range(steps):
        i = (step * batch) % len(X)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(X[i:i + batch]), y[i:i + batch])
        loss.backward()
        opt.step()
        if truth_every and step % truth_every == 0:
            truth[step] = {n: (p.detach().clone().double().numpy(),
                               p.grad.detach().clone().double().numpy(),
                               before[n].double().numpy())
                           for n, p in model.named_parameters()}
        truth.setdefault("loss", []).append(loss.item())
        run.step(loss=loss)
    return truth


def _expected(value, grad, previous):
    def six(a):
        return [np.mean(a), np.std(a), a.min(), a.max(), np.linalg.norm(a), np.mean(a < 0)]
    return [value.size, *six(value), *six(grad),
            np.linalg.norm(value - previous) / np.linalg.norm(value)]


@pytest.mark.parametrize("steps, log_freq", [(10, 3), (70, 1)])  # 70: three batches of rows
def test_recorded_statistics_equal_the_modules_own_tensors(tmp_path, steps, log_freq,
                                                           keeping):
    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    truth = _train(run, model, steps, {"log_freq": log_freq}, truth_every=log_freq)
    run.finish()
    store = run.store
    assert np.allclose(store.metrics(run.id, "loss")[1], truth["loss"], rtol=1e-6)
    paths = {"0.weight": "dense/kernel", "0.bias": "dense/bias",
             "2.weight": "dense_1/kernel", "2.bias": "dense_1/bias",
             "4.weight": "dense_2/kernel", "4.bias": "dense_2/bias"}
    assert store.param_paths(run.id) == sorted(paths.values())
    for name, path in paths.items():
        records = store.param_stats(run.id, path)
        assert [r["step"] for r in records] == list(range(0, steps, log_freq))
        for record in records:
            value, grad, previous = truth[record["step"]][name]
            from glassnet.track.paramstats import COLUMNS
            got = [record[c] for c in COLUMNS]
            assert np.allclose(got, _expected(value, grad, previous), rtol=1e-5, atol=1e-9), \
                (path, record["step"])
            counts, edges = record["histogram"]
            want_counts, want_edges = np.histogram(value, bins=64)
            assert np.allclose(edges, want_edges, rtol=1e-9)
            assert np.abs(counts - want_counts).sum() <= 2  # float64 rounding at bin edges
            assert counts.sum() == value.size


def test_snapshot_is_the_state_dict_in_glassnet_orientation(tmp_path):
    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 4, {"log_freq": 2, "snapshots": "end"})
    run.finish()
    arrays = run.store.snapshot(run.id, "end")
    state = model.state_dict()
    for index, name in ((0, "dense"), (2, "dense_1"), (4, "dense_2")):
        assert np.array_equal(arrays[f"{name}/kernel"], state[f"{index}.weight"].numpy().T)
        assert np.array_equal(arrays[f"{name}/bias"], state[f"{index}.bias"].numpy())
    assert run.store.snapshots(run.id) == [-1, 3]


def test_recorded_network_rebuilds_as_the_same_function(tmp_path):
    from glassnet.apps.recorded import model_for_run

    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 3, {})
    run.finish()
    rebuilt = model_for_run(run.store, run.store.run(run.id))
    assert [layer.activation_name for layer in rebuilt.layers] == ["relu", "tanh", "linear"]
    X, _ = _data()
    with torch.no_grad():
        want = model(X).numpy()
    assert np.allclose(rebuilt.predict(X.numpy(), verbose=0), want, atol=1e-5)


def test_dead_share_equals_the_relu_outputs_and_diagnose_finds_the_dead_layer(tmp_path,
                                                                            keeping):
    from glassnet.apps.recorded import model_for_run

    model = _mlp()
    with torch.no_grad():
        model[0].bias[:7] = -50.0  # 7 of 10 ReLU units can never fire on this data
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 4, {"log_freq": 1})
    run.finish()
    X, _ = _data()
    dense = [r for r in run.store.layer_stats(run.id, "dense")]
    assert [r["step"] for r in dense] == [0, 1, 2, 3]
    with torch.no_grad():  # after training: the share the last forward saw, about the same
        dead_now = (model[1](model[0](X[24:32])).amax(0) <= 0).float().mean().item()
    assert dense[-1]["dead_share"] == pytest.approx(dead_now)
    assert dense[0]["dead_share"] >= 0.7
    findings = gn.inspect.diagnose(model_for_run(run.store, run.store.run(run.id)), X.numpy())
    assert any(f.layer == "dense" and "dead" in f.what.lower() for f in findings), findings


def test_hooks_are_removed_at_finish(tmp_path):
    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 2, {"log_freq": 1})
    assert len(model[1]._forward_hooks) == 1 and len(model[3]._forward_hooks) == 1  # armed
    run.finish()
    assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
               for m in model.modules())


def test_include_selects_parameters_by_glob(tmp_path):
    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 2, {"log_freq": 1, "include": ["*.bias"]})
    run.finish()
    assert run.store.param_paths(run.id) == ["dense/bias", "dense_1/bias", "dense_2/bias"]
    assert len(run.store.snapshot(run.id, "end")) == 6  # snapshots keep every parameter
    with pytest.raises(ConfigError, match="matches no parameter"):
        gn.track.init("torch", store=tmp_path).watch(model, include="nothing*")


class _Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 4)
        self.act = nn.ReLU()
        self.scale = nn.Parameter(torch.ones(3))
        self.fc2 = nn.Linear(4, 3, bias=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


def test_any_module_is_recorded_by_parameter_name(tmp_path):
    model = _Custom()
    run = gn.track.init("torch", store=tmp_path)
    truth = _train(run, model, 3, {"log_freq": 2}, truth_every=2)
    run.finish()
    store = run.store
    assert store.param_paths(run.id) == ["fc1.bias", "fc1.weight", "fc2.weight", "scale"]
    assert store.model_config(run.id) is None
    record = store.param_stats(run.id, "scale")[1]
    value, grad, previous = truth[2]["scale"]
    assert record["mean"] == pytest.approx(value.mean()) and \
        record["grad_l2"] == pytest.approx(np.linalg.norm(grad))
    snapshot = store.snapshot(run.id, "end")
    assert np.array_equal(snapshot["fc2.weight"], model.fc2.weight.detach().numpy().T)
    assert [r["layer"] for r in store.layer_stats(run.id)] == ["act", "act"]


def test_step_without_a_watched_module_says_what_to_do(tmp_path):
    run = gn.track.init("torch", store=tmp_path)
    with pytest.raises(ConfigError, match=r"run.watch\(module\)"):
        run.step(loss=1.0)
    assert run.step == -1  # still the last step, an int
    run.finish()


def test_watching_a_glassnet_model_does_not_import_torch(tmp_path):
    from track_helpers import run_python

    code = ("import sys, glassnet as gn\n"
            f"run = gn.track.init('x', store={str(tmp_path)!r})\n"
            "model = gn.models.Sequential([gn.layers.Input((2,)), gn.layers.Dense(1)])\n"
            "model.compile(loss='mse', optimizer='sgd')\n"
            "model.fit([[1.0, 2.0]], [[1.0]], epochs=1, verbose=0,"
            " callbacks=[run.watch(model)])\n"
            "run.finish()\n"
            "print('torch' in sys.modules)\n")
    out = run_python(code)
    assert out.stdout.strip() == "False", out.stderr


def test_glassnet_diagnose_and_the_ten_tables_read_a_torch_run(tmp_path):
    from click.testing import CliRunner

    from glassnet.cli import cli

    model = _mlp()
    with torch.no_grad():
        model[0].bias.fill_(-100.0)
    run = gn.track.init("torch", store=tmp_path)
    X, y = _data()
    run.log_dataset("toy", X=X.numpy(), y=y.numpy())
    _train(run, model, 3, {"log_freq": 1})
    run.finish()
    result = CliRunner(env={"GLASSNET_STORE": None, "COLUMNS": "200"}).invoke(
        cli, ["diagnose", run.id, "--store", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "[dense] 10 of 10 ReLU units are dead" in result.output
    tables = gn.report.tables(run.id, store=run.store)
    weights = tables["weights"].to_records()
    assert {r["layer"] for r in weights} >= {"dense", "dense_1", "dense_2"}


def test_torch_stats_on_the_device_equal_numpy():
    """Both summarisers (NumPy on the CPU; torch ops, as on a GPU) against NumPy itself."""
    from glassnet.track.torch_stats import TorchStats

    g = torch.Generator().manual_seed(3)
    values = [torch.randn(7, 5, generator=g) * 3 + 1e3, torch.full((4,), 2.5),
              torch.randn(9, generator=g)]
    values[2][4] = float("nan")
    grads = [torch.randn(7, 5, generator=g), None, torch.randn(9, generator=g)]
    stats = TorchStats(values, max_rows=4)  # the torch ops a CUDA tensor's steps take
    previous = [v - 0.01 for v in values]
    stats.keep_previous(0, previous)
    stats.keep(0, values, grads)
    stats.keep(1, values, grads)  # no W kept before it: no update ratio
    got, counts, edges = stats.take(2, histograms=True)()
    for i, (v, grad) in enumerate(zip(values, grads, strict=True)):
        a = v.double().numpy().ravel()
        finite = a[np.isfinite(a)]
        if np.isfinite(a).all():
            assert got[0, i, 1:7] == pytest.approx(
                [a.mean(), a.std(), a.min(), a.max(), np.linalg.norm(a), np.mean(a < 0)],
                rel=1e-9, abs=1e-9)
            change = np.linalg.norm(a - previous[i].double().numpy().ravel())
            assert got[0, i, 13] == pytest.approx(change / np.linalg.norm(a), rel=1e-5)
        want_counts, want_edges = np.histogram(finite, bins=64)
        assert np.abs(counts[0, i] - want_counts).sum() <= 2 and counts[0, i].sum() == finite.size
        if edges is not None:
            assert np.allclose(edges[0, i], want_edges)
        if grad is None:
            assert np.isnan(got[0, i, 7:13]).all()
        else:
            assert got[0, i, 11] == pytest.approx(np.linalg.norm(grad.double().numpy()))
    assert np.isnan(got[1, :, 13]).all()


def test_watch_refuses_a_number_where_the_model_goes(tmp_path):
    run = gn.track.init("torch", store=tmp_path)
    with pytest.raises(ConfigError, match="log_freq=10 by name"):
        run.watch(10)
    run.finish()


def test_timings_time_each_layers_backward(tmp_path):
    """timings=True: a layer whose backward sleeps 30 ms is timed at >= 30 ms, the
    others far less; without it the column is NaN; no hook is left after finish."""
    import time

    class _SlowBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            time.sleep(0.03)
            return grad

    class SlowLinear(nn.Linear):
        def forward(self, x):
            return _SlowBackward.apply(super().forward(x))

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), SlowLinear(10, 5), nn.Tanh(),
                          nn.Linear(5, 3))
    run = gn.track.init("torch", store=tmp_path)
    _train(run, model, 3, {"log_freq": 1, "timings": True})
    run.finish()
    for step_rows in zip(*(run.store.layer_stats(run.id, n)
                           for n in ("dense", "dense_1", "dense_2")), strict=True):
        fast0, slow, fast2 = (r["backward_time"] for r in step_rows)
        assert slow >= 0.03 and 0 <= fast0 < 0.03 and 0 <= fast2 < 0.03
    assert all(not p._backward_hooks for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())
    plain = gn.track.init("torch", store=tmp_path)
    _train(plain, _mlp(), 2, {"log_freq": 1})
    plain.finish()
    assert all(np.isnan(r["backward_time"]) for r in plain.store.layer_stats(plain.id))


def test_torch_stats_keep_tensors_of_several_dtypes_exactly():
    """One buffer row holds float32 and float64 tensors (in the wider dtype): each copied
    into its view whole, so the statistics are those of the tensors themselves."""
    from glassnet.track.torch_stats import TorchStats

    g = torch.Generator().manual_seed(5)
    values = [torch.randn(3, 4, generator=g), torch.randn(6, generator=g, dtype=torch.float64)]
    grads = [torch.randn(3, 4, generator=g), torch.randn(6, generator=g, dtype=torch.float64)]
    stats = TorchStats(values, max_rows=2)
    stats.keep_previous(0, [v * 0.5 for v in values])
    stats.keep(0, values, grads)
    got, counts, _ = stats.take(1, histograms=True)()
    for i, (v, grad) in enumerate(zip(values, grads, strict=True)):
        a, d = v.double().numpy().ravel(), grad.double().numpy().ravel()
        assert got[0, i, 3:5].tolist() == [a.min(), a.max()]  # exact: nothing rounded
        assert got[0, i, 9:11].tolist() == [d.min(), d.max()]
        assert got[0, i, 1] == pytest.approx(a.mean(), rel=1e-12)
        assert got[0, i, 13] == pytest.approx(0.5, rel=1e-12)  # ‖v - v/2‖ / ‖v‖
        assert counts[0, i].sum() == a.size


def test_a_frozen_parameter_has_value_statistics_and_no_gradient_ones(tmp_path, keeping):
    """requires_grad=False: no .grad, so its gradient columns are NaN (not zeros, not
    another step's), its value columns are its own; float64 and float32 parameters in one
    module are kept exactly (in the wider dtype)."""
    model = _mlp()
    model[2].double()
    model[2].weight.requires_grad_(False)
    run = gn.track.init("torch", store=tmp_path)
    run.watch(model, log_freq=1)
    X, y = _data()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        hidden = model[1](model[0](X[:8])).double()
        out = model[4](model[3](model[2](hidden)).float())
        loss = nn.functional.cross_entropy(out, y[:8])
        loss.backward()
        opt.step()
        run.step(loss=loss)
    run.finish()
    frozen = run.store.param_stats(run.id, "dense_1/kernel")
    w = model[2].weight.detach().numpy().ravel()
    assert len(frozen) == 5 and all(np.isnan(r["grad_mean"]) and np.isnan(r["grad_l2"])
                                    for r in frozen)
    assert [frozen[-1]["min"], frozen[-1]["max"]] == [w.min(), w.max()]  # float64, exact
    assert frozen[-1]["mean"] == pytest.approx(w.mean(), rel=1e-12)
    assert frozen[-1]["update_ratio"] == 0.0  # it never moved
    bias = run.store.param_stats(run.id, "dense_1/bias")[-1]
    assert bias["grad_l2"] > 0 and np.isfinite(bias["grad_mean"])


def test_a_loss_that_is_not_one_number_is_refused_by_name(tmp_path):
    run = gn.track.init("torch", store=tmp_path)
    run.watch(_mlp())
    with pytest.raises(ConfigError, match=r"one number; got a tensor of shape \(2,\)"):
        run.step(loss=torch.ones(2))
    with pytest.raises(ConfigError, match="got 'low'"):
        run.step(loss="low")
    run.step(loss=np.float32(0.5))
    run.step(loss=0.25)
    run.finish()
    steps, values = run.store.metrics(run.id, "loss")
    assert list(steps) == [0, 1] and list(values) == [0.5, 0.25]  # refused: not a step


def test_snapshots_every_n_steps_hold_the_weights_of_those_steps(tmp_path):
    """snapshots=2 beside log_freq=3: a snapshot at each even step (the events of both
    schedules are kept apart), each the module's weights after that step's update."""
    model = _mlp()
    run = gn.track.init("torch", store=tmp_path)
    run.watch(model, log_freq=3, snapshots=2)
    X, y = _data()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    kept = {}
    for step in range(7):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[:8]), y[:8]).backward()
        opt.step()
        kept[step] = model[0].weight.detach().numpy().T.copy()
        run.step(loss=0.0)
    run.finish()
    assert run.store.snapshots(run.id) == [-1, 0, 2, 4, 6]
    for step in (0, 2, 4, 6):
        assert np.array_equal(run.store.snapshot(run.id, step)["dense/kernel"], kept[step])
    assert [r["step"] for r in run.store.param_stats(run.id, "dense/kernel")] == [0, 3, 6]
