"""The machine and process a run belongs to: environment capture and liveness checks.

A run records its host, pid and a *start fingerprint* of its process (boot id + the
process start time from ``/proc/<pid>/stat``). A later process on the same host can then
tell a live run from one whose process died -- even when the pid has been reused.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from functools import cache, lru_cache

_BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


@lru_cache(maxsize=1)
def hostname() -> str:
    return socket.gethostname()


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        with open(_BOOT_ID_FILE) as f:
            return f.read().strip()
    except OSError:
        return ""


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name sits in parentheses and may itself hold spaces or ')'
    return raw[raw.rfind(")") + 2:].split()


def process_fingerprint(pid: int | None = None) -> str | None:
    """``"<boot id>:<start time in clock ticks>"`` for ``pid``, or None where /proc is absent."""
    fields = _stat_fields(os.getpid() if pid is None else pid)
    if fields is None or len(fields) < 20:
        return None
    return f"{_boot_id()}:{fields[19]}"


def process_alive(pid: int, fingerprint: str | None) -> bool:
    """Is the process that wrote ``fingerprint`` under ``pid`` still running on this host?"""
    if pid == os.getpid():
        return fingerprint is None or fingerprint == process_fingerprint()
    fields = _stat_fields(pid)
    if fields is not None:
        if fields[0] in ("Z", "X"):  # zombie or dead: exited, only waiting to be reaped
            return False
        return fingerprint is None or fingerprint == process_fingerprint(pid)
    if os.path.isdir("/proc/self"):  # /proc exists but not this pid: gone
        return False
    try:  # no /proc (macOS, ...): the pid exists or it does not
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cache  # importlib.metadata reads the installed files: ~1 ms a run
def _version(dist: str, module: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        mod = sys.modules.get(module)
        return str(getattr(mod, "__version__", "unknown"))


def git_commit(cwd: str | None = None) -> str | None:
    """The commit checked out in ``cwd`` (default: the current folder), or None."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=2
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def environment() -> dict:
    """What a run records about where it ran."""
    import numpy as np

    return {
        "host": hostname(),
        "pid": os.getpid(),
        "python": sys.version.split()[0],
        "glassnet": _version("glassnet", "glassnet"),
        "numpy": np.__version__,
        "argv": list(sys.argv),
        "cwd": os.getcwd(),
        "git_commit": git_commit(),
    }
