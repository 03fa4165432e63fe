"""The throwaway PostgreSQL server (tests/pg_server.py), and the store's SQL on it."""

from __future__ import annotations

import ipaddress

import pytest

import pg_server
from glassnet.track.store.backend import Dialect
from glassnet.track.store.postgresql import TYPES as POSTGRES_TYPES
from glassnet.track.store.schema import COLUMNS, KEYS, SCHEMA_VERSION, WRITTEN_ONCE, migrations


def _connect(url: str):
    psycopg = pytest.importorskip("psycopg")
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def test_the_server_stores_a_row_and_gives_it_back(postgres_url):
    with _connect(postgres_url) as conn:
        conn.execute("CREATE TABLE notes (id BIGINT PRIMARY KEY, text TEXT, data BYTEA)")
        conn.execute("INSERT INTO notes VALUES (%s, %s, %s)", (7, "héllo ∑", b"\x00\xff"))
        assert conn.execute("SELECT id, text, data FROM notes").fetchall() == [
            (7, "héllo ∑", b"\x00\xff")]
        # loopback only: the address we reached it on, and the only one it listens on
        assert conn.execute("SELECT inet_server_addr()").fetchone()[0] == \
            ipaddress.ip_address("127.0.0.1")
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
        conn.execute("DROP TABLE notes")


def test_without_the_binaries_the_tests_skip_saying_how_to_install(monkeypatch):
    monkeypatch.setattr(pg_server, "bin_dir", lambda: None)
    monkeypatch.delenv("GLASSNET_REQUIRE_FRAMEWORKS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install postgresql"):
        pg_server.start()


@pytest.mark.parametrize("name, value", [("CI", "true"), ("GLASSNET_REQUIRE_FRAMEWORKS", "1")])
def test_on_ci_missing_binaries_fail_instead_of_skipping(monkeypatch, name, value):
    monkeypatch.setattr(pg_server, "bin_dir", lambda: None)
    monkeypatch.delenv("GLASSNET_REQUIRE_FRAMEWORKS", raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(name, value)
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install postgresql"):
        pg_server.start()


def test_the_schema_and_the_upserts_are_written_once_for_both_databases(postgres_url):
    """The templates spelled for PostgreSQL create every table; each table's standard
    upsert replaces a row by its key (and those of WRITTEN_ONCE keep the first)."""
    with _connect(postgres_url) as conn:
        conn.execute("CREATE SCHEMA written_once")
        conn.execute("SET search_path TO written_once")
        try:
            for statements in migrations(POSTGRES_TYPES)[:SCHEMA_VERSION]:
                for sql in statements:
                    conn.execute(sql)
            dialect = Dialect()
            for table, columns in COLUMNS.items():
                key = KEYS[table]
                first = tuple(_value(c, 0 if c in key else 1) for c in columns)
                second = tuple(_value(c, 0 if c in key else 2) for c in columns)
                ignore = table in WRITTEN_ONCE
                sql = dialect.upsert(table, ignore=ignore).replace("?", "%s")
                conn.execute(sql, first)
                conn.execute(sql, second)
                rows = conn.execute(f"SELECT * FROM {table}").fetchall()
                assert rows == [first if ignore else second], table
        finally:
            conn.execute("DROP SCHEMA written_once CASCADE")


def _value(column: str, n: int):
    """A value of the column's type: numbers for steps, versions and times, bytes for
    the array columns, text for the rest."""
    if column in ("step", "first_step", "version", "size"):
        return n * 10
    if column in ("value", "time"):
        return n + 0.5
    if column in ("steps", '"values"', "stats", "hist_counts", "hist_edges", "data"):
        return bytes([n, 0, 255])
    return f"text {n}"
