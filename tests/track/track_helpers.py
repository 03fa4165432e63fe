"""Child processes for the track tests: real interpreters running glassnet from ./src."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env.pop("GLASSNET_STORE", None)
    return env


def spawn(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """Start ``python -c code args...`` as a real child process (stdout/stderr piped)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(), **kwargs,
    )


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    proc = spawn(code, *args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def old_store(folder, version: int, name: str) -> None:
    """A store as schema ``version`` made it, with one finished run named ``name``
    (id ``0ldrun00``, project ``legacy``): what an upgrade test opens."""
    import sqlite3

    from glassnet.track.store import DB_NAME, MIGRATIONS

    Path(folder).mkdir(parents=True)
    conn = sqlite3.connect(Path(folder) / DB_NAME)
    for statements in MIGRATIONS[:version]:
        for sql in statements:
            conn.execute(sql)
    conn.execute(f"PRAGMA user_version = {int(version)}")
    conn.execute("INSERT INTO runs (id, project, name, status, created_at, seq)"
                 " VALUES ('0ldrun00', 'legacy', ?, 'finished', 1.0, 1)", (name,))
    conn.commit()
    conn.close()
