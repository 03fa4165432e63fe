"""The example notebooks run top to bottom in a real Jupyter kernel and show what they say.

Each notebook in examples/ is executed with nbclient in a kernel that is this Python
(the venv's); its outputs are read back: the printed values, and the rich HTML that
glassnet's objects show (parsed, numbers compared with the closed forms).
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from notebook_kernel import venv_kernel  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from html_reading import Reader, numbers  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

pytestmark = pytest.mark.slow


def execute(name: str, cwd: Path):
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    with venv_kernel() as kernel:
        nbclient.NotebookClient(notebook, kernel_name=kernel, timeout=300,
                                resources={"metadata": {"path": str(cwd)}}).execute()
    return notebook


def cell(notebook, marker: str):
    """The one code cell whose source is ``marker``, else the one that contains it."""
    code = [c for c in notebook.cells if c.cell_type == "code"]
    found = [c for c in code if c.source == marker] or [c for c in code if marker in c.source]
    assert len(found) == 1, f"{len(found)} cells contain {marker!r}"
    return found[0]


def html_of(code_cell, kind: str) -> Reader:
    htmls = [o["data"]["text/html"] for o in code_cell.outputs if "text/html" in o.get("data", {})]
    assert htmls, f"no HTML output in cell {code_cell.source[:60]!r}"
    reader = Reader(htmls[-1])
    assert f"glassnet-{kind}" in reader.classes
    return reader


def stdout_of(code_cell) -> str:
    return "".join(o["text"] for o in code_cell.outputs if o.get("name") == "stdout")


def test_the_notebooks_in_the_repository_have_no_outputs():
    assert {p.name for p in NOTEBOOKS} >= {"course_lab.ipynb", "digits.ipynb"}
    for path in NOTEBOOKS:
        for c in nbformat.read(path, as_version=4).cells:
            if c.cell_type == "code":
                assert c.outputs == [] and c.execution_count is None, path.name


@pytest.fixture(scope="module")
def course_lab(tmp_path_factory):
    return execute("course_lab.ipynb", tmp_path_factory.mktemp("course_lab"))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return execute("digits.ipynb", tmp_path_factory.mktemp("digits"))


def test_course_lab_runs_without_errors(course_lab):
    errors = [o for c in course_lab.cells for o in c.get("outputs", [])
              if o["output_type"] == "error"]
    assert errors == []


def test_course_lab_linear_and_sigmoid_units_match_the_formulas(course_lab):
    linear = stdout_of(cell(course_lab, "by_hand = x_train @"))
    assert linear.splitlines() == ["x = 1.0: layer says 300.0, w * x + b = 300.0",
                                   "x = 2.0: layer says 500.0, w * x + b = 500.0"]
    sigmoid = stdout_of(cell(course_lab, "by_hand = 1 / (1 + np.exp"))
    lines = sigmoid.splitlines()
    assert len(lines) == 6
    for x, line in enumerate(lines):
        match = re.fullmatch(rf"x = {x}: model says (\S+), 1 / \(1 \+ e\^-\(2x - 4\.5\)\) = "
                             rf"(\S+)", line)
        says, by_hand = float(match.group(1)), float(match.group(2))
        exact = 1 / (1 + math.exp(-(2 * x - 4.5)))
        assert by_hand == pytest.approx(exact, abs=1e-6)
        assert says == pytest.approx(exact, abs=2e-6)   # float32 model, 6 decimals printed


def test_course_lab_shows_the_kernel_the_model_and_the_trace_as_html(course_lab):
    kernel = html_of(cell(course_lab, "layer.kernel"), "variable")
    assert kernel.matrix("kernel")["shape"] == "1×1"
    model = html_of(cell(course_lab, 'name="L1"'), "model")
    assert model.tables[0][1] == ["L1", "Dense", "(None, 1)", "sigmoid", "1", "1", "2"]
    trace = html_of(cell(course_lab, "gn.inspect.trace"), "trace")
    z = 3.0 * 2.0 - 4.5
    a = 1 / (1 + math.exp(-z))
    assert float(numbers(trace.matrix("z")["rows"])[0, 0]) == pytest.approx(z, rel=1e-3)
    assert float(numbers(trace.matrix("a")["rows"])[0, 0]) == pytest.approx(a, rel=1e-3)
    dz = a - 1.0                               # sigmoid + cross-entropy against y = 1
    assert float(numbers(trace.matrix("dz")["rows"])[0, 0]) == pytest.approx(dz, rel=1e-3)
    shown_dw = trace.matrix("dW = xᵀ dz")
    assert float(numbers(shown_dw["rows"])[0, 0]) == pytest.approx(3.0 * dz, rel=1e-3)


def test_course_lab_learns_w_200_and_b_100_and_shows_its_history(course_lab):
    text = stdout_of(cell(course_lab, "learned w"))
    w, b = (float(v) for v in re.search(r"learned w = (\S+) \(true 200\), b = (\S+)",
                                        text).groups())
    assert w == pytest.approx(200, abs=0.05) and b == pytest.approx(100, abs=0.05)
    history = html_of(cell(course_lab, "regression.fit"), "history")
    assert "History: 10000 epochs" in history.text
    first, best, final = history.tables[0][1][1:]
    assert float(first) > 1e4 > 1e-2 > float(final)   # 1e5-size loss to nearly 0
    bias = html_of(cell(course_lab, "regression.layers[0].bias"), "variable")
    assert float(numbers(bias.matrix("bias")["rows"])[0, 0]) == pytest.approx(b, abs=0.01)


def test_digits_trains_live_records_and_shows_everything(digits):
    errors = [o for c in digits.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    model = html_of(cell(digits, "model.compile("), "model")
    # 64·25 + 25·15 + 15·10 weights, 25 + 15 + 10 biases, Normalization's mean, variance, count
    assert "Total params: 2,304 = 2,125 weights + 50 biases + 129 other" in model.text
    training = cell(digits, "gn.report.LiveView()")
    live = html_of(training, "live")
    assert "epoch 30/30" in live.text
    drawn = [row[0] for row in live.tables[0][1:]]
    assert "dense/kernel" in drawn and "dense_2/bias" in drawn
    accuracy = float(re.search(r"test accuracy: (\S+)%", stdout_of(training)).group(1))
    assert accuracy > 90
    run = html_of(cell(digits, "run"), "run")
    assert "finished" in run.text
    shown = dict(row for row in run.tables[0][1:])
    assert float(shown["test/accuracy"]) * 100 == pytest.approx(accuracy, abs=0.06)
    assert "glassnet ui --store" in run.text
    history = html_of(cell(digits, "history"), "history")
    assert "History: 30 epochs" in history.text
    assert html_of(cell(digits, "gn.inspect.describe"), "table").tables[0][0][:3] == \
        ["layer", "variable", "shape"]
    html_of(cell(digits, "gn.inspect.diagnose"), "findings")
    for marker in ("plots.loss_curves", "plots.first_layer_images"):
        pngs = [o for o in cell(digits, marker).outputs if "image/png" in o.get("data", {})]
        assert len(pngs) == 1, marker
