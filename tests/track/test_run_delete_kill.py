"""A delete killed with SIGKILL leaves the store consistent: each run whole or gone, no
row naming a missing blob; the orphan blobs it may leave are what ``gc`` collects.

A child process deletes runs from a copy of one recorded store and is killed by a real
SIGKILL: at chosen points (it announces each one and waits: inside the transaction
after the last DELETE, after the commit before any blob is removed, between two blob
removals) and at random moments. Bounded: 3 points and 8 random kills, 60 s at most.
"""

from __future__ import annotations

import random
import shutil
import signal
import sys
import time

import pytest
from test_run_delete import blob_files, counts, inline_blobs, named_blobs, record, stored_blobs
from track_helpers import spawn

from glassnet.track import Store

pytestmark = pytest.mark.slow  # child processes, killed

CHILD = """
import sys, time
from contextlib import contextmanager
from glassnet.track import open_store

store = open_store(sys.argv[1])
point, ids = sys.argv[2], sys.argv[3].split(",")

def pause(where):
    print(where, flush=True)
    time.sleep(120)  # killed here

if point == "in-transaction":
    real = store.backend.transaction

    @contextmanager
    def transaction(schema=False):
        with real(schema) as c:
            class Cursor:
                def execute(self, sql, params=()):
                    out = c.execute(sql, params)
                    if sql.startswith("DELETE FROM runs"):
                        pause("in-transaction")
                    return out

                def executemany(self, sql, rows):
                    return c.executemany(sql, rows)
            yield Cursor()
    store.backend.transaction = transaction
elif point in ("after-commit", "mid-unlink"):
    real_remove, calls = store.blobs.remove, []

    def remove(*args, **kwargs):
        calls.append(1)
        if point == "after-commit" or len(calls) == 2:
            pause(point)
        return real_remove(*args, **kwargs)
    store.blobs.remove = remove
print("start", flush=True)
store.delete_runs(ids)
print("done", flush=True)
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store of three recorded runs: a and b share their step -1 snapshot blob."""
    folder = tmp_path_factory.mktemp("kill-template")
    store = Store(folder / "store")
    ids = [record(store, name, f"{name}'s file".encode(), folder) for name in "abc"]
    before = {run_id: counts(store, run_id) for run_id in ids}
    store.close()
    time.sleep(2.5)  # past the write slack: a delete removes blobs at once
    return folder / "store", ids, before


def copy(template, tmp_path):
    source, ids, before = template
    target = tmp_path / f"store-{time.monotonic_ns()}"
    shutil.copytree(source, target)
    return target, ids, before


def kill_at(folder, point: str, ids: list[str], delay: float | None = None) -> str:
    """Run the child until it reaches ``point`` (or for ``delay`` s after it starts);
    SIGKILL it; return the last line it printed."""
    child = spawn(CHILD, str(folder), point, ",".join(ids))
    try:
        line = child.stdout.readline().strip()
        assert line == "start", child.stderr.read()
        if delay is None:
            line = child.stdout.readline().strip()
            assert line == point, child.stderr.read()
        else:
            time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if delay is None:
            assert child.returncode == -signal.SIGKILL
        else:  # a random moment may come after the delete ended
            assert child.returncode in (0, -signal.SIGKILL), child.stderr.read()
        return line
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()


def check_consistent(folder, ids, before) -> tuple[Store, list[str]]:
    """Every run whole or gone, every named blob on disk; return the store and the gone."""
    store = Store(folder)
    assert store.integrity_check() == "ok"
    gone = []
    for run_id in ids:
        now = counts(store, run_id)
        if now["runs"]:
            assert now == before[run_id]
        else:
            assert now == {table: 0 for table in now}, run_id
            gone.append(run_id)
    assert named_blobs(store) <= set(stored_blobs(store))
    return store, gone


def test_killed_inside_the_transaction_nothing_is_deleted(template, tmp_path):
    folder, ids, before = copy(template, tmp_path)
    files = stored_blobs(Store(folder))
    kill_at(folder, "in-transaction", ids[:2])
    store, gone = check_consistent(folder, ids, before)
    assert gone == [] and stored_blobs(store) == files


@pytest.mark.parametrize("point", ["after-commit", "mid-unlink"])
def test_killed_after_the_commit_the_runs_are_gone_and_gc_takes_their_blobs(
        template, tmp_path, point):
    folder, ids, before = copy(template, tmp_path)
    files, inline = blob_files(Store(folder)), inline_blobs(Store(folder))
    kill_at(folder, point, ids[:2])
    store, gone = check_consistent(folder, ids, before)
    assert gone == ids[:2]
    left = stored_blobs(store)
    named = named_blobs(store)
    orphans = set(left) - named
    # the blobs in the database went with the rows, in the transaction
    assert set(inline) - set(inline_blobs(store)) == set(inline) - named != set()
    assert set(inline_blobs(store)) <= named
    assert len(set(files) - set(blob_files(store))) == (0 if point == "after-commit" else 1)
    assert orphans  # the blob files of a and b the delete did not get to
    found = store.collect_garbage(grace_s=0)
    assert set(found.blobs) == orphans
    assert set(stored_blobs(store)) == named  # c's blobs and the registry's stay
    assert counts(store, ids[2]) == before[ids[2]]


def test_killed_at_random_moments_the_store_stays_consistent(template, tmp_path):
    rng = random.Random(19)
    outcomes = []
    folder, ids, _ = copy(template, tmp_path)
    took = _time_a_delete(folder, ids)  # the moments to kill at span the delete
    deadline = time.monotonic() + 60
    for _ in range(8):
        if time.monotonic() > deadline:
            break
        folder, ids, before = copy(template, tmp_path)
        kill_at(folder, "anywhere", ids, delay=rng.uniform(0.0, 1.2 * took))
        store, gone = check_consistent(folder, ids, before)
        assert gone in ([], ids)  # one transaction: all three or none
        outcomes.append(len(gone))
        store.collect_garbage(grace_s=0)
        assert set(stored_blobs(store)) == named_blobs(store)
        store.close()
    print(f"delete took {took:.3f} s; runs gone after each kill: {outcomes}", file=sys.stderr)


def _time_a_delete(folder, ids) -> float:
    child = spawn(CHILD, str(folder), "anywhere", ",".join(ids))
    try:
        assert child.stdout.readline().strip() == "start", child.stderr.read()
        start = time.monotonic()
        assert child.stdout.readline().strip() == "done", child.stderr.read()
        return time.monotonic() - start
    finally:
        child.communicate(timeout=30)
