"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temp folder, loopback.

:func:`start` runs ``initdb`` into a new folder under the system's temp directory,
starts the server with ``pg_ctl`` on a free 127.0.0.1 port (unix sockets in that
folder, no other address), waits until it accepts connections and returns a
:class:`Server` whose :attr:`~Server.url` a driver connects to; :meth:`Server.stop`
stops it (``pg_ctl stop -m fast``) and deletes the folder. PostgreSQL refuses to run
as root, so as root the server runs as the ``postgres`` user Debian's package makes
(else ``nobody``), through ``runuser``, with the folder chowned to that user.

Where the binaries are absent the tests that need the server skip, saying how to
install it; on CI (``GLASSNET_REQUIRE_FRAMEWORKS=1`` or ``CI=true``) they fail instead.
A server that is there but does not start is always an error, with its log.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

HOW = ("the PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
       "apt-get install postgresql (as .ci/run does)")
START_TIMEOUT_S = 30  # pg_ctl -w gives up after this long
RUN_AS = ("postgres", "nobody")  # the first that exists, when the tests run as root


def bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: Debian's newest version, else the PATH's."""
    def version(path: str) -> tuple[int, ...]:
        parts = Path(path).parts[-3].split(".")  # /usr/lib/postgresql/<version>/bin/initdb
        return tuple(int(p) for p in parts if p.isdigit())

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    candidates = [Path(p).parent for p in reversed(found)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "pg_ctl").is_file():
            return folder
    return None


def required() -> bool:
    """True on CI, where the PostgreSQL tests must run rather than skip."""
    return (os.environ.get("GLASSNET_REQUIRE_FRAMEWORKS") == "1"
            or os.environ.get("CI", "").lower() == "true")


def missing(message: str = HOW):
    """Skip the test, or fail it on CI: the server cannot be had here."""
    if required():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running server: connect to :attr:`url` (user ``glassnet``, database ``postgres``)."""

    def __init__(self, bin_path: Path, folder: Path, port: int, user: str | None) -> None:
        self.bin = bin_path
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = port
        self.user = user  # the OS user the server runs as (None: this process's own)
        self.url = f"postgresql://glassnet@127.0.0.1:{port}/postgres"
        self.options = ""  # the server's settings, for pg_ctl start

    def run(self, *argv: str, timeout: float) -> subprocess.CompletedProcess:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LC_ALL": "C"}, stdin=subprocess.DEVNULL,
                              cwd=self.folder)  # a folder the server's user may enter

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def pause(self) -> None:
        """Stop the server, keeping its data (a server restart, or an outage)."""
        done = self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop",
                        timeout=START_TIMEOUT_S + 10)
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr}")

    def resume(self) -> None:
        """Start the paused server again, on the same port with the same settings."""
        done = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w",
                        "-t", str(START_TIMEOUT_S), "-o", self.options, "start",
                        timeout=START_TIMEOUT_S + 10)
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed; server log:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the server (fast: open sessions are rolled back) and delete its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w",
                         "-t", str(START_TIMEOUT_S), "stop", timeout=START_TIMEOUT_S + 10)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _run_as() -> tuple[str | None, int | None, int | None]:
    """``(user, uid, gid)`` to run the server as; ``(None, None, None)`` when not root."""
    if os.geteuid() != 0:
        return None, None, None
    for name in RUN_AS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return name, entry.pw_uid, entry.pw_gid
    pytest.fail(f"the tests run as root, and PostgreSQL will not; none of the users "
                f"{RUN_AS} exists to run it as (apt-get install postgresql makes 'postgres')")


def start() -> Server:
    """initdb, start on a free loopback port, wait until it accepts connections."""
    binaries = bin_dir()
    if binaries is None:
        missing()
    user, uid, gid = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="glassnet-pg-"))  # /tmp: reachable by that user
    if uid is not None:
        os.chown(folder, uid, gid)
    server = Server(binaries, folder, free_port(), user)
    try:
        done = server.run("initdb", "-D", str(server.data), "-U", "glassnet", "--auth=trust",
                          "--encoding=UTF8", "--locale=C", "--no-sync", timeout=120)
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for attempt in range(3):  # the free port may be taken between finding and binding
            # Loopback only; sockets in our folder (not /var/run/postgresql); no fsync:
            # a throwaway server whose data nobody keeps after the tests.
            options = (f"-c listen_addresses=127.0.0.1 -p {server.port} "
                       f"-c unix_socket_directories={folder} -c fsync=off "
                       "-c full_page_writes=off -c max_connections=50")
            server.options = options
            done = server.run("pg_ctl", "-D", str(server.data), "-l", str(server.log),
                              "-w", "-t", str(START_TIMEOUT_S), "-o", options, "start",
                              timeout=START_TIMEOUT_S + 10)
            if done.returncode == 0:
                return server
            if "already in use" not in server.log_tail() or attempt == 2:
                break
            server.port = free_port()
            server.url = f"postgresql://glassnet@127.0.0.1:{server.port}/postgres"
        raise RuntimeError(f"pg_ctl start failed ({done.stdout.strip()} {done.stderr.strip()})"
                           f"; server log:\n{server.log_tail()}")
    except BaseException:
        server.stop()
        raise



def create_database(server_url: str, name: str) -> str:
    """Make an empty database ``name`` on the server; return its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return server_url.rsplit("/", 1)[0] + "/" + name


def create_schema(database_url: str, name: str, **query: str) -> str:
    """Make an empty schema ``name`` in the database; return a URL whose sessions use
    it (``search_path``), ``query`` added as URL parameters (e.g. ``blobs=``). A store
    in a fresh schema is a fresh store, and a schema is made in milliseconds where a
    database takes a second: the tests' stores are schemas of one database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    return database_url + "?" + urlencode({"options": f"-c search_path={name}", **query},
                                          quote_via=quote)


def drop_schema(database_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, ending any session still on it."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
