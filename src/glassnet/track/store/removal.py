"""Archiving and deleting runs, and collecting blobs no row names (``glassnet gc``).

Nothing here runs unless asked by name: ``store.archive_runs``, ``store.delete_runs``,
``store.collect_garbage`` (and the ``glassnet archive | rm | gc`` commands).

**Archive** stamps ``archived_at``: the run is hidden from ``store.runs()``, searches
and ``glassnet runs`` unless they ask for archived runs, and kept whole.

**Delete** removes a run's rows from every table that holds them (:data:`RUN_TABLES`),
in one transaction, and the blobs (snapshots, logged files) that no other row names:
those the database keeps (small snapshots, table ``inline_blobs``) in that same
transaction, the files after the commit. Registry entries (model and dataset
versions) are kept, with their link to the run cleared, and so are their blobs. A
process killed in between leaves blob files no row names, which ``collect_garbage``
removes; never a row naming a missing blob. A running run cannot be deleted.

**In-use blobs.** A writer whose bytes are already stored only stamps the blob's mtime
(blobs.BlobStore.claim) before naming it in a row. So a delete removes a blob only
when it was not touched after the rows being deleted were written
(:data:`WRITE_SLACK_S` later at most), and garbage collection only when nothing
touched it for :data:`GC_GRACE_S` (an hour): a run writing a blob commits its row
within seconds (a transaction waits at most 30 s for the lock). Blobs a delete left
for that reason are counted in its result and collected later. A blob in the database
needs none of this: it is written in the transaction of the row naming it, and every
write transaction holds the store's write lock (SQLite's, or PostgreSQL's advisory
lock), so a delete or a collection sees each blob either named or not, never about to
be named; ``collect_garbage`` removes those no row names at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from glassnet.track.errors import ConfigError

# tables holding rows of one run, deleted with it (the runs table itself last)
RUN_TABLES = ("metrics", "metric_series", "param_layouts", "param_stats", "layer_stats",
              "snapshots", "model_configs", "artifacts")
# registry tables whose rows outlive the run that made them: their run_id is cleared
REGISTRY_TABLES = ("models", "datasets")
# every column naming a blob
BLOB_COLUMNS = (("snapshots", "sha"), ("artifacts", "sha"), ("models", "sha"),
                ("datasets", "sha"))
WRITE_SLACK_S = 2.0  # a blob is written at most this long after its row is timed
GC_GRACE_S = 3600.0  # garbage collection leaves blobs touched within the last hour
_CHUNK = 500  # ids per IN (...): far below every database's limit on parameters


@dataclass
class Removal:
    """What a delete (or its dry run) removes: the runs, their rows, the blobs freed."""

    runs: list = field(default_factory=list)  # RunRecords, as they were
    rows: dict = field(default_factory=dict)  # table -> rows removed
    unlinked: dict = field(default_factory=dict)  # table -> registry rows whose run is cleared
    blobs: dict = field(default_factory=dict)  # sha -> bytes, for blobs only these runs named
    shared: int = 0  # blobs these runs named that other rows name too: kept
    left: list = field(default_factory=list)  # shas kept for gc (in use, or a dry run)
    dry_run: bool = False

    @property
    def freed_bytes(self) -> int:
        return sum(size for sha, size in self.blobs.items() if sha not in self.left)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class Collection:
    """What ``collect_garbage`` found: orphan blobs, stale temporary files, bytes."""

    blobs: dict = field(default_factory=dict)  # sha -> bytes
    temporary: dict = field(default_factory=dict)  # file name -> bytes
    recent: int = 0  # orphans younger than the grace age: kept
    dry_run: bool = False

    @property
    def freed_bytes(self) -> int:
        return sum(self.blobs.values()) + sum(self.temporary.values())


def chunks(items: list, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def marks(items) -> str:
    return ", ".join("?" * len(items))


class Removals:
    """Archive, delete and garbage collection (a part of Store)."""

    # -- archive ---------------------------------------------------------------------
    def archive_runs(self, run_ids, archived: bool = True) -> list[str]:
        """Archive (or with ``archived=False`` unarchive) runs; return the ids changed."""
        ids = self._resolve_all(run_ids)
        changed = []
        with self.backend.transaction() as c:
            for part in chunks(ids):
                if archived:
                    rows = c.execute(f"SELECT id FROM runs WHERE id IN ({marks(part)})"
                                     " AND archived_at IS NULL", part).fetchall()
                    c.execute(f"UPDATE runs SET archived_at = ? WHERE id IN ({marks(part)})"
                              " AND archived_at IS NULL", (time.time(), *part))
                else:
                    rows = c.execute(f"SELECT id FROM runs WHERE id IN ({marks(part)})"
                                     " AND archived_at IS NOT NULL", part).fetchall()
                    c.execute(f"UPDATE runs SET archived_at = NULL WHERE id IN"
                              f" ({marks(part)})", part)
                changed += [r[0] for r in rows]
        return changed

    def archive_run(self, run_id: str) -> bool:
        """Hide a run from lists and searches, keeping it whole; True if it changed."""
        return bool(self.archive_runs([run_id]))

    def unarchive_run(self, run_id: str) -> bool:
        """Show an archived run in lists again; True if it was archived."""
        return bool(self.archive_runs([run_id], archived=False))

    def _resolve_all(self, run_ids) -> list[str]:
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        return list(dict.fromkeys(self.resolve_run_id(r) for r in run_ids))

    # -- delete ----------------------------------------------------------------------
    def delete_run(self, run_id: str, dry_run: bool = False) -> Removal:
        """Delete one run (id or unique prefix): see :meth:`delete_runs`."""
        return self.delete_runs([run_id], dry_run=dry_run)

    def delete_runs(self, run_ids, dry_run: bool = False) -> Removal:
        """Delete runs, their rows in every table and the blobs no other row names.

        With ``dry_run`` nothing changes and the result says what would go. A running
        run is refused (ConfigError): finish it first, or wait until it reads crashed."""
        ids = self._resolve_all(run_ids)
        records = self._judged(self._rows_of(ids))
        running = [r for r in records if r["status"] == "running"]
        if running:
            listed = ", ".join(f"{r['id']} ({r['project']}/{r['name']})" for r in running[:5])
            raise ConfigError(f"cannot delete running runs: {listed}; finish them first "
                              "(a run whose process died reads crashed and can be deleted)")
        result = Removal(runs=records, dry_run=dry_run)
        if dry_run:
            self._plan(ids, result, _Reader(self))
            return result
        with self.backend.transaction() as c:
            files, inline = self._plan(ids, result, c)
            for part in chunks(ids):
                for table in RUN_TABLES:
                    c.execute(f"DELETE FROM {table} WHERE run_id IN ({marks(part)})", part)
                for table in REGISTRY_TABLES:
                    c.execute(f"UPDATE {table} SET run_id = NULL WHERE run_id IN"
                              f" ({marks(part)})", part)
                c.execute(f"DELETE FROM runs WHERE id IN ({marks(part)})", part)
            for part in chunks(list(inline)):  # named by no other row (the plan, locked)
                c.execute(f"DELETE FROM inline_blobs WHERE sha IN ({marks(part)})", part)
        self._remove_blobs(result, files, inline)
        return result

    def _rows_of(self, ids: list[str]) -> list[tuple]:
        from glassnet.track.store.records import RUN_FIELDS

        rows = []
        for part in chunks(ids):
            rows += self._read(f"SELECT {', '.join(RUN_FIELDS)} FROM runs"
                               f" WHERE id IN ({marks(part)}) ORDER BY created_at", part)
        return rows

    def _plan(self, ids: list[str], result: Removal, c
              ) -> tuple[dict[str, float], dict[str, int]]:
        """Fill ``result`` with the rows and blobs of ``ids``; return the blob files to
        remove, each with its newest row time (when these runs last wrote it), and the
        sizes of the blobs to remove from the database."""
        written: dict[str, float] = {}
        for part in chunks(ids):
            for table in RUN_TABLES:
                n = c.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id IN"
                              f" ({marks(part)})", part).fetchone()[0]
                result.rows[table] = result.rows.get(table, 0) + n
            for table in REGISTRY_TABLES:
                n = c.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id IN"
                              f" ({marks(part)})", part).fetchone()[0]
                result.unlinked[table] = result.unlinked.get(table, 0) + n
            result.rows["runs"] = result.rows.get("runs", 0) + len(part)
            for table, stamp in (("snapshots", "time"), ("artifacts", "created_at")):
                for sha, newest in c.execute(
                        f"SELECT sha, MAX({stamp}) FROM {table} WHERE run_id IN"
                        f" ({marks(part)}) AND sha IS NOT NULL GROUP BY sha", part).fetchall():
                    written[sha] = max(newest, written.get(sha, newest))
        named = set(ids)
        shared = set()  # blobs some row of another run, or of the registry, names
        shas = sorted(written)
        for part in chunks(shas):
            for table, column in BLOB_COLUMNS:
                if table in RUN_TABLES:  # rows of the runs being deleted do not count
                    rows = c.execute(f"SELECT {column}, run_id FROM {table} WHERE {column}"
                                     f" IN ({marks(part)})", part).fetchall()
                    shared |= {sha for sha, run in rows if run not in named}
                else:
                    shared |= {r[0] for r in c.execute(
                        f"SELECT {column} FROM {table} WHERE {column} IN ({marks(part)})",
                        part).fetchall()}
        result.shared = len(shared)
        unshared = [sha for sha in shas if sha not in shared]
        inline: dict[str, int] = {}
        for part in chunks(unshared):
            inline.update(c.execute(f"SELECT sha, size FROM inline_blobs WHERE sha IN"
                                    f" ({marks(part)})", part).fetchall())
        files = {}
        for sha in unshared:
            size = self._file_size(sha)
            result.blobs[sha] = inline.get(sha, 0) + (size or 0)
            if size is not None or sha not in inline:  # a file, or a blob gone missing
                files[sha] = written[sha]
        return files, inline

    def _file_size(self, sha: str) -> int | None:
        try:
            return self.blobs.path(sha).stat().st_size
        except (FileNotFoundError, ConfigError):
            return None

    def _remove_blobs(self, result: Removal, files: dict[str, float],
                      inline: dict[str, int]) -> None:
        """After the commit: unlink the freed blob files, unless one is named again or in
        use (the blobs in the database went with the rows)."""
        named = self._named_blobs(list(files))  # a row written since the commit
        older_than = time.time() - GC_GRACE_S
        for sha, when in files.items():
            freed = None if sha in named else self.blobs.remove(
                sha, untouched_since=when + WRITE_SLACK_S, older_than=older_than)
            if freed is None:
                result.left.append(sha)
            else:
                result.blobs[sha] = inline.get(sha, 0) + freed

    def _named_blobs(self, shas: list[str]) -> set[str]:
        found = set()
        for part in chunks(shas):
            for table, column in BLOB_COLUMNS:
                found |= {r[0] for r in self._read(
                    f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN"
                    f" ({marks(part)})", part)}
        return found

    # -- garbage collection ------------------------------------------------------------
    def collect_garbage(self, dry_run: bool = False, grace_s: float = GC_GRACE_S
                        ) -> Collection:
        """Remove blob files no row names and temporary files of writers that died, when
        nothing touched them for ``grace_s`` seconds (default an hour: a blob being
        written now is named by its row within seconds), and the blobs in the database
        no row names (at once: see the module's docstring). ``dry_run``: only report."""
        if isinstance(grace_s, bool) or not isinstance(grace_s, (int, float)) or grace_s < 0:
            raise ConfigError(f"grace_s must be a number of seconds >= 0, got {grace_s!r}")
        result = Collection(dry_run=dry_run)
        result.blobs.update(self._collect_inline(dry_run))
        named = set()  # read before the files: a blob named after this is young or claimed
        for table, column in BLOB_COLUMNS:
            named |= {r[0] for r in self._read(
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL")}
        older_than = time.time() - grace_s
        for path, stat in list(self.blobs.files()):
            name = path.name
            if name.startswith(".tmp-"):
                if stat.st_mtime < older_than:
                    result.temporary[name] = stat.st_size
                    if not dry_run:
                        _unlink(path)
                continue
            if not _is_sha(name) or name in named:
                continue
            if stat.st_mtime >= older_than:
                result.recent += 1
                continue
            if dry_run:
                result.blobs[name] = stat.st_size
                continue
            freed = self.blobs.remove(name, untouched_since=older_than, older_than=older_than)
            if freed is None:
                result.recent += 1
            elif freed:
                result.blobs[name] = freed
        return result

    def _collect_inline(self, dry_run: bool) -> dict[str, int]:
        """sha -> size of the blobs in the database that no row names, removed unless
        ``dry_run``: read and deleted in one write transaction, so none is named meanwhile."""
        unnamed = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.{column}"
                               f" = inline_blobs.sha)" for table, column in BLOB_COLUMNS)
        sql = f"SELECT sha, size FROM inline_blobs WHERE {unnamed}"
        found = dict(self._read(sql))
        if dry_run or not found:  # no write lock taken for nothing
            return found
        with self.backend.transaction() as c:
            found = dict(c.execute(sql).fetchall())
            for part in chunks(list(found)):
                c.execute(f"DELETE FROM inline_blobs WHERE sha IN ({marks(part)})", part)
        return found


class _Reader:
    """A cursor's ``execute(...).fetchall()`` over ``store._read``: a dry run's plan."""

    def __init__(self, store) -> None:
        self.store = store

    def execute(self, sql: str, params=()):
        return _Rows(self.store._read(sql, params))


class _Rows:
    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows

    def fetchall(self) -> list[tuple]:
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None


def _is_sha(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _unlink(path) -> None:
    import os

    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
