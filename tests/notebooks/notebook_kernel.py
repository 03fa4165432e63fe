"""A Jupyter kernel that is this very Python (the venv's), whatever kernels the machine has.

A kernel named "python3" may resolve to a kernel spec installed elsewhere on the machine
(another Python, without glassnet); this writes a spec that runs ``sys.executable`` into
a temporary Jupyter data folder, first on JUPYTER_PATH, under a name of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "glassnet-venv"


@contextlib.contextmanager
def venv_kernel():
    """Yield the name of a kernel spec that starts ``sys.executable -m ipykernel_launcher``."""
    with tempfile.TemporaryDirectory(prefix="glassnet-kernel-") as root:
        spec = Path(root) / "kernels" / KERNEL_NAME
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "glassnet (this venv)", "language": "python"}))
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = root + (os.pathsep + old if old else "")
        try:
            yield KERNEL_NAME
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old
