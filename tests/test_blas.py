"""glassnet._engine.blas: products through NumPy's own OpenBLAS, and plain SGD fused into them.

Truth here is NumPy's own matmul in float64 for the products, and fit's unfused path
(every gradient written, then ``w -= lr * g``) for the fused steps, whose gradients are
themselves checked against finite differences in test_gradients.py.
"""

from __future__ import annotations

import ctypes
import warnings
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet._engine import blas
from glassnet._engine.observing import Ask
from glassnet.callbacks import Callback

if not blas._numpy_openblas_files():  # NumPy built on another BLAS: nothing to test
    pytest.skip("this NumPy ships no OpenBLAS of its own", allow_module_level=True)
RNG = np.random.default_rng(0)


class ReadsGradients(Callback):
    """Keeps every step's kernel gradient: a watcher asking for them at every step, which
    keeps fit unfused (glassnet._engine.observing)."""

    def __init__(self):
        super().__init__()
        self.kernel_grads = []

    def observe_begin(self, observed):
        self.path = self.model.layers[0].kernel.path
        return Ask.GRADIENTS

    def observe_step(self, step, loss, logs, observed):
        self.kernel_grads.append(observed.gradients()[self.path].copy())
        return Ask.GRADIENTS


class CountsCalls:
    """Counts the calls of one ``glassnet._engine.blas`` function: ``matmul_add`` counts fused
    steps, ``_cblas_call`` the checked preparations of a CBLAS call (a cached call
    skips them)."""

    def __init__(self, monkeypatch, name):
        self.calls = 0
        original = getattr(blas, name)

        def counting(*args):
            self.calls += 1
            return original(*args)
        monkeypatch.setattr(blas, name, counting)


def test_numpys_own_openblas_is_found_and_bound():
    # NumPy ships one (the module would have skipped otherwise): it must be usable.
    assert blas.fusion_available()
    assert set(blas._routines) == {np.dtype(np.float32), np.dtype(np.float64)}


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


# -- products --------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 300, 200), (4, 3, 5)])  # threaded, and not
def test_matmul_matches_numpy_in_every_layout_the_engine_uses(dtype, shape):
    m, k, n = shape
    x = RNG.standard_normal((m, k)).astype(dtype)
    w = RNG.standard_normal((k, n)).astype(dtype)
    dz = RNG.standard_normal((m, n)).astype(dtype)
    ones = np.ones(m, dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-10)
    exact = [(x, w, np.empty((m, n), dtype)),           # forward  x @ W
             (x.T, dz, np.empty((k, n), dtype)),        # kernel gradient  x.T @ dz
             (dz, w.T, np.empty((m, k), dtype)),        # input gradient  dz @ W.T
             (ones, dz, np.empty(n, dtype)),            # bias gradient  ones @ dz
             (ones, dz.T.copy().T, np.empty(n, dtype)),  # ... from a Fortran-ordered dz
             (x.T.copy(), dz, np.empty((k, n), dtype)),  # a transposed copy, not a view
             (np.asfortranarray(x), w, np.empty((m, n), dtype)),  # Fortran, owns its data
             (np.concatenate([x, x])[m:], w, np.empty((m, n), dtype)),  # a view at an offset
             (_read_only(x), _read_only(w), np.empty((m, n), dtype))]
    for a, b, out in exact:
        result = blas.matmul(a, b, out)
        assert result is out
        np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), **tol)
        before = RNG.standard_normal(out.shape).astype(dtype)
        fused = blas.matmul_add(a, b, before.copy(), -0.5)
        np.testing.assert_allclose(fused, before - 0.5 * (a.astype(np.float64) @ b), **tol)


def test_affine_sends_big_products_through_cblas_and_small_ones_to_np_dot(monkeypatch):
    calls = []
    original = blas._blas_product
    monkeypatch.setattr(blas, "_blas_product", lambda *a: calls.append(a) or original(*a))
    bias = np.ones(512, np.float32)
    big = np.ones((128, 784), np.float32), np.ones((784, 512), np.float32)
    blas.affine(*big, bias, np.empty((128, 512), np.float32))
    assert len(calls) == 1
    small = np.ones((32, 64), np.float32), np.ones((64, 25), np.float32)
    blas.affine(*small, bias[:25], np.empty((32, 25), np.float32))
    blas.matmul(*big, np.empty((128, 512), np.float32))  # plain products: always np.dot
    assert len(calls) == 1
    # mixed dtypes or a strided out cannot go to BLAS as they are: NumPy computes them
    out = np.empty((128, 1024), np.float32)[:, ::2]
    np.testing.assert_array_equal(blas.affine(*big, bias, out), big[0] @ big[1] + bias)
    wide = np.empty((128, 1024))[:, ::2]
    np.testing.assert_array_equal(blas.affine(*big, bias, wide), big[0] @ big[1] + bias)


def test_glassnet_blas_numpy_turns_cblas_off(monkeypatch):
    monkeypatch.setenv("GLASSNET_BLAS", "numpy")
    monkeypatch.setattr(blas, "_routines", None)
    assert not blas.fusion_available()
    a, b = RNG.standard_normal((256, 300)), RNG.standard_normal((300, 400))
    np.testing.assert_allclose(blas.matmul(a, b, np.empty((256, 400))), a @ b)
    monkeypatch.setattr(blas, "_routines", None)  # let the next test bind CBLAS again


@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_add_is_out_plus_alpha_times_the_product(transposed):
    a = RNG.standard_normal((50, 40)).astype(np.float32)
    b = RNG.standard_normal((50, 30)).astype(np.float32)
    out = RNG.standard_normal((40, 30)).astype(np.float32)
    expected = out.astype(np.float64) - 0.25 * (a.T.astype(np.float64) @ b)
    if transposed:  # a strided out: the fallback (product, then add)
        wide = np.zeros((40, 60), np.float32)
        wide[:, ::2] = out
        out = wide[:, ::2]
    blas.matmul_add(a.T, b, out, -0.25)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_a_cached_product_follows_its_arrays_contents_and_alpha(monkeypatch):
    a = RNG.standard_normal((40, 50)).astype(np.float32)
    b = RNG.standard_normal((40, 30)).astype(np.float32)
    out = RNG.standard_normal((50, 30)).astype(np.float32)
    cache, counter = blas.CachedProduct(), CountsCalls(monkeypatch, "_cblas_call")
    a_t = a.T  # one view object, as Dense keeps its input's transpose
    for alpha in (-0.5, -0.25, 2.0):
        a[...] = RNG.standard_normal(a.shape)  # new contents, same arrays
        b[...] = RNG.standard_normal(b.shape)
        expected = out.astype(np.float64) + alpha * (a.T.astype(np.float64) @ b)
        blas.matmul_add(a_t, b, out, alpha, cache)
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert counter.calls == 1  # checked and converted once, then repeated


@pytest.mark.slow
def test_a_cached_product_prepares_again_for_other_arrays(monkeypatch):
    def arrays():  # big enough for affine's CBLAS route
        return (RNG.standard_normal((128, 300)).astype(np.float32),
                RNG.standard_normal((300, 200)).astype(np.float32),
                RNG.standard_normal(200).astype(np.float32),
                np.empty((128, 200), np.float32))
    cache, counter = blas.CachedProduct(), CountsCalls(monkeypatch, "_cblas_call")
    first, second = arrays(), arrays()
    blas.affine(*first, cache)
    kept = first[3].copy()
    for _ in range(2):
        blas.affine(*second, cache)
        x, kernel, bias, out = second
        np.testing.assert_allclose(out, x.astype(np.float64) @ kernel + bias,
                                   rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(first[3], kept)  # the old out is left alone
    assert counter.calls == 2
    shorter = np.empty((100, 200), np.float32)  # a new out of another shape
    blas.matmul_add(x[:100], kernel, shorter, 1.0, cache)
    assert counter.calls == 3


def test_a_cached_product_declines_what_cblas_cannot_read():
    cache = blas.CachedProduct()
    a = RNG.standard_normal((8, 6)).astype(np.float32)
    b = RNG.standard_normal((6, 4)).astype(np.float32)
    strided = np.zeros((8, 8), np.float32)[:, ::2]
    assert not cache(a, b, strided, 1.0, 0.0)
    assert not cache(a, b.astype(np.float64), np.zeros((8, 4)), 1.0, 0.0)
    out = np.zeros((8, 4), np.float32)
    assert cache(a, b, out, 1.0, 0.0)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-5)


@pytest.mark.parametrize("case", ["inner sizes", "out shape", "gemv out", "3-D"])
def test_shapes_that_do_not_chain_never_reach_cblas(case):
    # CBLAS takes sizes on trust: a wrong out would be written past its end. These go
    # to NumPy, whose own error names the shapes, and nothing is written.
    a, b = np.ones((8, 6), np.float32), np.ones((6, 4), np.float32)
    out = np.zeros((8, 4), np.float32)
    if case == "inner sizes":
        b = np.ones((5, 4), np.float32)
    elif case == "out shape":
        out = np.zeros((4, 8), np.float32)
    elif case == "gemv out":
        a, out = np.ones(6, np.float32), np.zeros(5, np.float32)
    else:
        a = np.ones((2, 8, 6), np.float32)
    before = out.copy()
    assert blas._cblas_call(a, b, out, 1.0, 1.0) is None
    assert not blas.CachedProduct()(a, b, out, 1.0, 1.0)
    with pytest.raises(ValueError):
        blas.matmul_add(a, b, out, 1.0, blas.CachedProduct())
    np.testing.assert_array_equal(out, before)


def test_a_cached_bias_step_is_a_gemv():
    dz = RNG.standard_normal((128, 30)).astype(np.float32)
    ones, bias = np.ones(128, np.float32), RNG.standard_normal(30).astype(np.float32)
    cache = blas.CachedProduct()
    for _ in range(2):
        expected = bias.astype(np.float64) - 0.1 * dz.sum(axis=0, dtype=np.float64)
        blas.matmul_add(ones, dz, bias, -0.1, cache)
        np.testing.assert_allclose(bias, expected, rtol=1e-5, atol=1e-5)


# -- fused SGD in fit ------------------------------------------------------------------
def _model(optimizer=None, sizes=(6, 16, 8, 3), **dense):
    model = gn.Sequential([gn.Input((sizes[0],))]
                          + [gn.layers.Dense(units, "relu", **dense) for units in sizes[1:-1]]
                          + [gn.layers.Dense(sizes[-1])])
    model.compile(optimizer=optimizer or gn.optimizers.SGD(0.05),
                  loss=gn.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(n=200, d=6, k=3):
    X = RNG.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 1).astype(int) % k


def _fit_both(make, X, y, monkeypatch, **fit):
    """The same training fused and unfused: (fused model, unfused model, fused calls)."""
    monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
    start = make().get_weights()
    fused, unfused = make(), make()
    fused.set_weights(start)
    unfused.set_weights(start)
    counter = CountsCalls(monkeypatch, "matmul_add")
    gn.utils.set_random_seed(7)
    fused.fit(X, y, verbose=0, **fit)
    calls = counter.calls
    gn.utils.set_random_seed(7)
    unfused.fit(X, y, verbose=0, callbacks=[ReadsGradients()], **fit)
    assert counter.calls == calls  # a callback reading gradients keeps fit unfused
    return fused, unfused, calls


def test_fused_sgd_trains_as_the_unfused_update(float64, monkeypatch):
    X, y = _data()
    fused, unfused, calls = _fit_both(_model, X, y, monkeypatch,
                                      batch_size=16, epochs=3, shuffle=True)
    steps = 3 * 13
    assert calls == (steps - 3) * 3 * 2  # all but each epoch's last step; 3 layers, W and b
    for a, b in zip(fused.get_weights(), unfused.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert fused.optimizer.iterations == unfused.optimizer.iterations == steps
    # after fit every gradient is the last batch's, as without fusion
    for a, b in zip(fused.trainable_variables, unfused.trainable_variables, strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_fused_steps_are_w_minus_lr_times_the_gradient(float64, monkeypatch):
    X, y = _data(n=48)
    monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
    model = _model(gn.optimizers.SGD(0.1))
    by_hand = _model()
    by_hand.set_weights(model.get_weights())
    counter = CountsCalls(monkeypatch, "matmul_add")
    model.fit(X, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert counter.calls == 2 * 3 * 2  # batches 1 and 2 fused (3 layers, W and b); 3 not
    for start in (0, 16, 32):
        grads = gn.inspect.gradients(by_hand, X[start:start + 16], y[start:start + 16])
        by_hand.set_weights([v.value - 0.1 * grads[v.path] for v in by_hand.trainable_variables])
    for a, b in zip(model.get_weights(), by_hand.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_fused_steps_follow_new_weights_and_batch_sizes_between_fits(float64, monkeypatch):
    # Cached CBLAS calls hold the arrays of the last fit: set_weights, a new batch size
    # and refitting must land every update in the model's current arrays.
    X, y = _data(n=120)
    runs = []
    for reads_gradients in (False, True):
        monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
        model = _model(gn.optimizers.SGD(0.1))
        model.set_weights(_model().get_weights() if not runs else runs[0][0])
        callbacks = [ReadsGradients()] if reads_gradients else []
        start = model.get_weights()
        model.fit(X, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        model.set_weights([w * 0.5 for w in model.get_weights()])
        model.fit(X, y, batch_size=24, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        runs.append((start, model.get_weights()))
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", ["schedule", "constraint"])
def test_fused_sgd_follows_schedules_and_constraints(case, float64, monkeypatch):
    X, y = _data()
    if case == "schedule":
        def make():
            return _model(gn.optimizers.SGD(lambda step: 0.2 * 0.5 ** (step / 5)))
    else:
        def make():
            return _model(kernel_constraint="non_neg")
    fused, unfused, calls = _fit_both(make, X, y, monkeypatch, batch_size=20, epochs=2)
    assert calls > 0
    for a, b in zip(fused.get_weights(), unfused.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if case == "constraint":
        assert all((layer.kernel.value >= 0).all() for layer in fused.layers[:-1])


@pytest.mark.parametrize("case", ["momentum", "regularizer", "small model", "frozen layer",
                                  "reading callback", "numpy blas"])
def test_fit_stays_unfused_where_fusing_would_change_the_result(case, monkeypatch):
    X, y = _data()
    optimizer, dense, callbacks = gn.optimizers.SGD(0.05), {}, None
    if case != "small model":
        monkeypatch.setattr(blas, "FUSED_SGD_MIN_PARAMS", 0)
    if case == "momentum":
        optimizer = gn.optimizers.SGD(0.05, momentum=0.9)
    elif case == "regularizer":
        dense = {"kernel_regularizer": "l2"}
    elif case == "reading callback":
        callbacks = [ReadsGradients()]
    elif case == "numpy blas":
        monkeypatch.setattr(blas, "_routines", {})
    model = _model(optimizer, **dense)
    if case == "frozen layer":
        model.layers[0].trainable = False
        model.compile(optimizer=optimizer, loss=model.loss)
    frozen = model.layers[0].kernel.value.copy()
    counter = CountsCalls(monkeypatch, "matmul_add")
    model.fit(X, y, batch_size=20, epochs=2, verbose=0, callbacks=callbacks)
    if case == "frozen layer":  # the other layers fuse; the frozen one stays as it was
        assert counter.calls == 2 * 9 * 2 * 2
        np.testing.assert_array_equal(model.layers[0].kernel.value, frozen)
    else:
        assert counter.calls == 0


def test_a_big_model_fuses_by_default(monkeypatch):
    X = RNG.standard_normal((64, 100)).astype(np.float32)
    y = RNG.integers(0, 10, 64)
    model = _model(sizes=(100, 400, 10))  # 44,410 parameters
    assert model.count_params() >= blas.FUSED_SGD_MIN_PARAMS
    counter = CountsCalls(monkeypatch, "matmul_add")
    history = model.fit(X, y, batch_size=16, epochs=3, verbose=0)
    assert counter.calls == 3 * 3 * 2 * 2
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("shape", [(128, 300, 200), (4, 3, 5)])
def test_affine_is_the_product_plus_the_bias(shape):
    m, k, n = shape
    x = RNG.standard_normal((m, k)).astype(np.float32)
    w = RNG.standard_normal((k, n)).astype(np.float32)
    b = RNG.standard_normal(n).astype(np.float32)
    out = np.empty((m, n), np.float32)
    assert blas.affine(x, w, b, out) is out
    np.testing.assert_allclose(out, x.astype(np.float64) @ w + b, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(blas.affine(x, w, None, out), x.astype(np.float64) @ w,
                               rtol=1e-5, atol=1e-4)


def test_cblas_is_the_library_numpy_already_runs():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    path = next(p for p in blas._numpy_openblas_files() if blas._already_loaded(p))
    handle = ctypes.CDLL(str(path))
    get_threads = next(getattr(handle, name) for name in (
        "scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
        "openblas_get_num_threads64_", "openblas_get_num_threads") if hasattr(handle, name))
    # threadpoolctl limits the OpenBLAS NumPy loaded; the one glassnet calls sees it.
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert get_threads() == 1
    assert not blas._already_loaded(Path(__file__))  # a file never loaded is not used


@pytest.mark.slow
def test_training_never_loads_scipy():
    import subprocess
    import sys

    # A big model (fused SGD) and a small one: neither needs SciPy.
    code = ("import sys, numpy as np, glassnet as gn\n"
            "from glassnet._engine import blas\n"
            "for sizes in ((300, 200, 10), (1, 1)):\n"
            "    m = gn.Sequential([gn.Input((sizes[0],))]\n"
            "                      + [gn.layers.Dense(u) for u in sizes[1:]])\n"
            "    m.compile(optimizer='sgd', loss='mse')\n"
            "    x = np.ones((64, sizes[0]), np.float32)\n"
            "    m.fit(x, np.ones((64, sizes[-1])), batch_size=16, epochs=2, verbose=0)\n"
            "    m.predict(x, verbose=0)\n"
            "print(blas.fusion_available(), 'scipy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "True False"


def _product_that_raises_the_invalid_flag(real):
    """A product as some OpenBLAS kernels compute it on CI's CPUs: the right numbers,
    and the CPU's FE_INVALID flag raised on the way (numpy#24067)."""

    def product(a, b, out):
        np.subtract(np.float32(np.inf), np.float32(np.inf))  # sets FE_INVALID
        return real(a, b, out)

    return product


@pytest.mark.parametrize("entry", ["fit", "predict", "evaluate", "train_on_batch", "call"])
def test_a_spurious_invalid_flag_from_blas_is_not_a_warning(monkeypatch, entry):
    monkeypatch.setattr(blas, "matmul", _product_that_raises_the_invalid_flag(blas.matmul))
    x = np.random.RandomState(0).standard_normal((40, 5)).astype(np.float32)
    y = x[:, :1] * 2.0
    model = gn.Sequential([gn.layers.Input(shape=(5,)), gn.layers.Dense(3, activation="relu"),
                           gn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if entry == "fit":
            history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
            assert np.isfinite(history.history["loss"]).all()
        elif entry == "predict":
            assert np.isfinite(model.predict(x, verbose=0)).all()
        elif entry == "evaluate":
            assert np.isfinite(model.evaluate(x, y, verbose=0))
        elif entry == "train_on_batch":
            assert np.isfinite(model.train_on_batch(x, y))
        else:
            assert np.isfinite(model.layers[0](x)).all()
