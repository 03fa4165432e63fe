"""Run the course-and-tutorial corpus under the real Keras 3 and under glassnet.

Each case in ``cases/`` is TF/Keras code as the public material writes it (``import
tensorflow as tf``, ``from tensorflow import keras``, ``import keras``), its data loading
replaced by generated data of the same shape. It leaves its final loss in ``final_loss``.

A case runs in a subprocess with a time limit, twice over:

- under Keras 3 (torch backend), over several seeds, to learn the spread Keras itself
  shows: ``tensorflow`` is a small shim module (``tf.keras`` is keras,
  ``tf.random.set_seed`` is ``keras.utils.set_random_seed``...), used by this runner only;
- under glassnet, exactly as a user who changed the imports would run it:
  ``tensorflow`` is ``glassnet`` and ``keras`` is ``glassnet.keras``.

As a script it prints an 80-column table; ``--write-fixture`` records Keras's results in
``keras_results.json`` for tests/corpus/test_corpus.py (which then needs no Keras)::

    KERAS_BACKEND=torch .venv/bin/python tests/corpus/run_corpus.py
    KERAS_BACKEND=torch .venv/bin/python tests/corpus/run_corpus.py --keras --write-fixture
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import io
import json
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
import types
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
FIXTURE = HERE / "keras_results.json"
SEEDS = (0, 1, 2, 3, 4)
# glassnet's figure is its median over these: one draw against a few of Keras's is noisy
GLASSNET_SEEDS = (0, 1, 2)
TIMEOUT = 300.0  # seconds a case may take, all its seeds together
MARK = "CORPUS-RESULT "


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.py"))


# ---------------------------------------------------------------- module aliases (child)

class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``tensorflow.x.y`` (or ``keras.x``) as the module the mapping names.

    A prefix maps to a module name (``"glassnet"``) or a module object (the Keras shim);
    the imported module is the target itself, not a copy, as if the user had written
    the target's name in the import.
    """

    def __init__(self, mapping: dict):
        self.mapping = mapping

    def _target(self, fullname: str):
        for prefix, target in self.mapping.items():
            if fullname == prefix or fullname.startswith(prefix + "."):
                rest = fullname[len(prefix):]
                if isinstance(target, types.ModuleType):
                    return None if rest else target  # a shim has no submodules
                return target + rest
        return None

    def find_spec(self, fullname, path=None, target=None):
        if self._target(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        target = self._target(spec.name)
        module = target if isinstance(target, types.ModuleType) else (
            importlib.import_module(target))
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):
        pass


def _keras_shim(keras, seed_offset: int, eager) -> types.ModuleType:
    """A ``tensorflow`` for the Keras runs: what the cases reach for, mapped to Keras 3."""
    ops = types.SimpleNamespace(**{name: eager(getattr(keras.ops, name)) for name in (
        "softmax", "sigmoid", "relu", "convert_to_tensor", "linspace", "sum", "stack")})
    tf = types.ModuleType("tensorflow")
    tf.__path__ = []  # a package, so that `from tensorflow.keras import layers` is tried
    tf.__version__ = f"keras-{keras.__version__}"
    tf.keras = keras
    tf.executing_eagerly = lambda: True  # Keras asks, finding `tensorflow` imported
    set_seed = keras.utils.set_random_seed
    tf.random = types.SimpleNamespace(set_seed=lambda s: set_seed(int(s) + seed_offset))
    tf.nn = types.SimpleNamespace(softmax=ops.softmax, sigmoid=ops.sigmoid, relu=ops.relu)
    tf.constant = tf.convert_to_tensor = ops.convert_to_tensor
    tf.linspace = ops.linspace
    tf.add_n = lambda tensors: ops.sum(ops.stack(list(tensors)), axis=0)
    # a case's own keras.utils.set_random_seed(s) must still vary with the runner's seed
    keras.utils.set_random_seed = lambda s: set_seed(int(s) + seed_offset)
    return tf


def _eager_results(keras) -> callable:
    """Make Keras-on-torch results at user level behave as TF's eager tensors do.

    Calling a layer, model or op outside ``fit``/``evaluate``/``predict`` returns a torch
    tensor, on which NumPy functions misbehave (``np.max(t[:, 0])``) and ``.numpy()``
    refuses a tensor that requires grad; in TF the same code gets an eager tensor. Here such
    results become NumPy arrays with a ``.numpy()``. Inside the trainers nothing changes.
    Returns the converter, for the shim's ops.
    """
    import numpy as np
    import torch

    class Eager(np.ndarray):
        def numpy(self):
            return np.asarray(self)

    def eager(value):
        if isinstance(value, torch.Tensor):
            return np.asarray(value.detach().cpu()).view(Eager)
        return value

    state = {"depth": 0, "trainer": 0}
    layer_call = keras.Layer.__call__

    def call(self, *args, **kwargs):
        state["depth"] += 1
        try:
            out = layer_call(self, *args, **kwargs)
        finally:
            state["depth"] -= 1
        if state["depth"] or state["trainer"]:
            return out
        return keras.tree.map_structure(eager, out)

    def inside_trainer(method):
        def run(self, *args, **kwargs):
            state["trainer"] += 1
            try:
                return method(self, *args, **kwargs)
            finally:
                state["trainer"] -= 1
        return run

    keras.Layer.__call__ = call
    for name in ("fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
                 "predict_on_batch"):
        setattr(keras.Model, name, inside_trainer(getattr(keras.Model, name)))
    plain = torch.Tensor.numpy
    torch.Tensor.numpy = lambda self, *a, **k: plain(self.detach().cpu(), *a, **k)
    return lambda function: lambda *a, **k: keras.tree.map_structure(eager, function(*a, **k))


def _first_error(exc: BaseException, path: Path) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve() == path.resolve()]
    return f"{text} (line {frames[-1].lineno})" if frames else text


def run_case(name: str, engine: str, seeds, cases_dir: Path = CASES) -> dict:
    """Run one case in this process (call only in a fresh child): its losses or error."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    path = Path(cases_dir) / f"{name}.py"
    if engine == "keras":
        import keras
        from keras.src.utils import module_utils

        # Keras looks for a real TensorFlow once; it must not find the shim below
        module_utils.tensorflow.available  # noqa: B018
        eager = _eager_results(keras)
        before = keras.utils.set_random_seed
        mapping = lambda seed: {"tensorflow.keras": "keras",  # noqa: E731
                                "tensorflow": _keras_shim(keras, seed, eager)}
    else:
        import glassnet

        seed_glassnet = glassnet.random.set_random_seed
        # as the user's changed imports: no real Keras may leak in where glassnet lacks one
        mapping = lambda seed: {"tensorflow": "glassnet",  # noqa: E731
                                "keras": "glassnet.keras"}
    result = {"case": name, "engine": engine, "ok": True, "losses": [], "error": None}
    for seed in seeds:
        for key in [k for k in sys.modules if k == "tensorflow" or k.startswith(
                "tensorflow.") or (engine == "glassnet" and (k == "keras" or k.startswith(
                    "keras.")))]:
            del sys.modules[key]
        finder = _Alias(mapping(seed))
        sys.meta_path.insert(0, finder)
        if engine == "keras":
            keras.utils.set_random_seed = before
            keras.backend.clear_session()
            before(seed)
        else:
            glassnet.utils.clear_session()
            seed_glassnet(seed)
            # as the Keras shim: a case's own tf.random.set_seed(s) (which calls this) or
            # keras.utils.set_random_seed(s) must still vary with the runner's seed
            glassnet.random.set_random_seed = glassnet.utils.set_random_seed = (
                lambda s, offset=seed: seed_glassnet(int(s) + offset))
        out = io.StringIO()
        try:
            with tempfile.TemporaryDirectory() as work, redirect_stdout(out), \
                    redirect_stderr(out):
                cwd = os.getcwd()
                os.chdir(work)
                try:
                    scope = runpy.run_path(str(path), run_name="__main__")
                finally:
                    os.chdir(cwd)
            loss = scope.get("final_loss")
            if loss is None:
                raise RuntimeError("the case left no final_loss")
            result["losses"].append(float(loss))
        except BaseException as exc:  # a case may raise anything, SystemExit included
            result.update(ok=False, error=_first_error(exc, path))
            break
        finally:
            sys.meta_path.remove(finder)
    return result


# ------------------------------------------------------------------------------ parent

def run_in_subprocess(name: str, engine: str, seeds=(0,), python: str | None = None,
                      glassnet_src: str | None = None, timeout: float = TIMEOUT,
                      cases_dir: Path = CASES) -> dict:
    """Run a case in a fresh interpreter with a time limit; its result as a dict."""
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONHASHSEED="0")
    env.setdefault("OMP_NUM_THREADS", "1")  # the cases are small; jobs run side by side
    if glassnet_src:
        env["PYTHONPATH"] = os.pathsep.join([glassnet_src, env.get("PYTHONPATH", "")])
    command = [python or sys.executable, str(Path(__file__)), "--cases-dir", str(cases_dir),
               "--child", name, engine, *map(str, seeds)]
    failed = {"case": name, "engine": engine, "ok": False, "losses": []}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env)
    except subprocess.TimeoutExpired:
        return {**failed, "error": f"timed out after {timeout:g} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {**failed, "error": f"exit {done.returncode}: {tail}"}


def median(losses) -> float:
    import statistics

    return statistics.median(losses)


def spread(losses) -> tuple[float, float]:
    return min(losses), max(losses)


def tolerance(low: float, high: float) -> float:
    """How far outside Keras's min..max a loss may fall and still count as inside.

    A few seeds under-estimate Keras's spread (a sixth draw falls outside the range of five
    one time in three), so the range is widened on each side by its own width, and by at
    least 5% of its midpoint (a deterministic case has no width) or 1e-3.
    """
    return max(high - low, 0.05 * abs(high + low) / 2, 1e-3)


def within(loss: float, low: float, high: float) -> bool:
    slack = tolerance(low, high)
    return low - slack <= loss <= high + slack


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def table(keras_results: dict, glassnet_results: dict) -> str:
    """Case, Keras ok, glassnet ok (or its first error), glassnet's median loss over its
    seeds, Keras's range over its seeds, and whether the one falls in the other."""
    rows = [f"{'case':<29}{'keras':<6}{'glassnet':<9}{'loss':>10}  {'keras min..max':<20}in",
            "-" * 79]
    count = {"keras": 0, "glassnet": 0, "inside": 0}
    for name in sorted(set(keras_results) | set(glassnet_results)):
        k = keras_results.get(name, {"ok": False, "error": "not run", "losses": []})
        g = glassnet_results.get(name, {"ok": False, "error": "not run", "losses": []})
        loss = median(g["losses"]) if g["ok"] else None
        kr = "-"
        inside = "-"
        if k["ok"]:
            low, high = spread(k["losses"])
            kr = f"{_fmt(low)}..{_fmt(high)}"
            if loss is not None:
                inside = "yes" if within(loss, low, high) else "no"
        count["keras"] += k["ok"]
        count["glassnet"] += g["ok"]
        count["inside"] += inside == "yes"
        rows.append(f"{name[:28]:<29}{'ok' if k['ok'] else 'FAIL':<6}"
                    f"{'ok' if g['ok'] else 'FAIL':<9}{_fmt(loss):>10}  {kr:<20}{inside}")
        for label, result in (("keras", k), ("glassnet", g)):
            if not result["ok"]:
                rows.extend(_wrapped(f"{label}: {result['error']}"))
    rows.append("-" * 79)
    total = len(set(keras_results) | set(glassnet_results))
    rows.append(f"{total} cases: Keras runs {count['keras']}, glassnet runs "
                f"{count['glassnet']}, {count['inside']} within Keras's spread")
    return "\n".join(rows)


def _wrapped(text: str) -> list[str]:
    """An error under its case, indented, in at most three lines of 79 (file paths dropped)."""
    import re
    import textwrap

    text = re.sub(r"(/[^\s/:]+)+/([^\s/:]+)", r"\2", text)
    return textwrap.wrap(text, 79, initial_indent="  ", subsequent_indent="    ",
                         max_lines=3, placeholder=" ...")


def load_fixture(path: Path = FIXTURE) -> dict:
    return json.loads(path.read_text())["cases"]


def _run_all(names, jobs: int, *args, **kwargs) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        results = pool.map(lambda name: run_in_subprocess(name, *args, **kwargs), names)
        return dict(zip(names, results))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--keras", action="store_true",
                        help="run Keras over the seeds (default: read keras_results.json)")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="Keras seeds")
    parser.add_argument("--keras-python", help="interpreter with Keras 3 and torch")
    parser.add_argument("--glassnet-src", help="run glassnet from this src directory")
    parser.add_argument("--timeout", type=float, default=TIMEOUT)
    parser.add_argument("--jobs", type=int, default=1, help="cases run side by side")
    parser.add_argument("--write-fixture", action="store_true",
                        help="write Keras's results to keras_results.json")
    parser.add_argument("--json", help="also write both engines' results to this file")
    parser.add_argument("--cases-dir", default=str(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, engine, *seeds = args.child
        result = run_case(name, engine, [int(s) for s in seeds], Path(args.cases_dir))
        print(MARK + json.dumps(result), flush=True)
        return 0
    names = args.cases or case_names()
    if args.keras:
        seeds = list(range(args.seeds))
        keras_results = _run_all(names, args.jobs, "keras", seeds, args.keras_python,
                                 timeout=args.timeout)
        if args.write_fixture:  # the cases run now replace theirs; the others stay
            recorded = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {
                "seeds": seeds, "cases": {}}
            if recorded["seeds"] != seeds:
                parser.error(f"keras_results.json has seeds {recorded['seeds']}; "
                             f"rerun all cases to change them")
            recorded["cases"].update(keras_results)
            FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    else:
        keras_results = {n: r for n, r in load_fixture().items() if n in names}
    glassnet_results = _run_all(names, args.jobs, "glassnet", GLASSNET_SEEDS,
                                glassnet_src=args.glassnet_src, timeout=args.timeout)
    if args.json:
        Path(args.json).write_text(json.dumps({"keras": keras_results,
                                               "glassnet": glassnet_results}, indent=1))
    print(table(keras_results, glassnet_results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
