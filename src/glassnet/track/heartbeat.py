"""Telling a live run from a dead one: the writer's heartbeat, and the process check.

While a run is open, its process's writer thread stamps ``runs.heartbeat_at`` with
the time at every flush, and at least every :data:`BEAT_S` seconds when nothing is
logged. Any reader, in any process or on any host, can then judge a ``running`` run:

* heartbeat fresh (younger than :data:`STALE_AFTER_S`): running;
* heartbeat stale, run of this host: its pid and process start time decide (a
  process stopped in a debugger or by SIGSTOP is alive and stays ``running``);
* heartbeat stale, run of another host: ``crashed`` (the host or the process is gone,
  or cut off from the store). This is not written to the store: a run whose writer
  comes back reads ``running`` again.

On a PostgreSQL store (many machines, one database) every run is judged by its
heartbeat alone, this host's too, and nothing is recorded: a host name says too little
across machines (containers share them) for a pid to mean anything.

A store written by an older glassnet (heartbeat only with logged rows) is judged the
same way; on this host the process check keeps its idle runs ``running``.
"""

from __future__ import annotations

import time

from glassnet.track.env import hostname, process_alive

BEAT_S = 2.0
STALE_AFTER_S = 10.0  # five missed beats


def is_stale(heartbeat_at: float | None, now: float | None = None) -> bool:
    if heartbeat_at is None:
        return True
    return (time.time() if now is None else now) - heartbeat_at > STALE_AFTER_S


def verdict(host: str | None, pid: int | None, pid_start: str | None,
            heartbeat_at: float | None, now: float | None = None,
            by_heartbeat: bool = False) -> str | None:
    """Why a ``running`` run is really over, or None when it may be alive.

    ``"dead"``: its process on this host is gone (safe to record ``crashed``);
    ``"silent"``: another host's run whose heartbeat stopped (show ``crashed``).
    ``by_heartbeat``: judge every run by its heartbeat, this host's too (a store that
    many machines write to, PostgreSQL: two of them may share a host name).
    """
    if host == hostname() and not by_heartbeat:
        if pid is None or not process_alive(pid, pid_start):
            return "dead"
        return None
    return "silent" if is_stale(heartbeat_at, now) else None


def judge(record: dict, pid_start: str | None, now: float | None = None,
          by_heartbeat: bool = False) -> str | None:
    """Set a ``running`` run's record ``crashed`` (with finished_at and error) if it is over.

    Returns the :func:`verdict`: ``"dead"``, ``"silent"`` or None (left as it is)."""
    why = verdict(record["host"], record["pid"], pid_start, record["heartbeat_at"], now,
                  by_heartbeat)
    if why is None:
        return None
    record["status"] = "crashed"
    record["finished_at"] = record["heartbeat_at"]
    if why == "dead":
        record["error"] = (f"process {record['pid']} on {record['host']} ended without "
                           "finishing the run")
    else:
        record["error"] = silent_error(record["host"], record["heartbeat_at"])
    return why


def silent_error(host: str | None, heartbeat_at: float | None) -> str:
    when = "never" if heartbeat_at is None else time.strftime(
        "%Y-%m-%d %H:%M:%S", time.localtime(heartbeat_at))
    return (f"no heartbeat from host {host} since {when} (more than {STALE_AFTER_S:.0f} s):"
            " its process is gone or cut off from the store")
