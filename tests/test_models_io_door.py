"""``models`` reaches files through one door, ``glassnet.io.dispatch``.

``io`` builds models (it imports ``models``); a model module importing any other io
module would make a cycle between the floors (docs/architecture.md). The imports are
read from the source, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import glassnet.models

MODELS = Path(glassnet.models.__file__).parent


def _io_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if node.module == "glassnet":
                names = [f"glassnet.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [n for n in names if n == "glassnet.io" or n.startswith("glassnet.io.")]
    return found


def test_models_import_only_io_dispatch():
    offenders = {}
    for path in sorted(MODELS.glob("*.py")):
        wrong = [name for name in _io_imports(path)
                 if name not in ("glassnet.io.dispatch",) and
                 not name.startswith("glassnet.io.dispatch.")]
        if wrong:
            offenders[path.name] = wrong
    assert offenders == {}


def test_the_check_sees_a_lazy_import(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from glassnet.io.native import save_model\n"
                      "    from glassnet import io\n")
    assert _io_imports(source) == ["glassnet.io.native", "glassnet.io.native.save_model",
                                   "glassnet.io"]
