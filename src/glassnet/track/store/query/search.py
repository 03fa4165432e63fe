"""Finding runs by what they were and what they scored: ``store.search_runs``.

    store.search_runs(filter="config.learning_rate < 0.01 and summary.accuracy > 0.9"
                             " and tags contains 'baseline'",
                      order_by="summary.accuracy desc", limit=20, offset=0)

The filter and the sort order are parsed here (grammar.py), translated to one
parameterised SELECT (translate.py, with the store's SQL dialect: dialects.py) and run
by the store. A pandas DataFrame comes back when pandas is installed (frames.py), else
(or with ``as_records=True``) a list of RunRecords, as ``store.runs()`` gives.
"""

from __future__ import annotations

import numbers
import time

from glassnet.errors import ConfigError
from glassnet.track import heartbeat
from glassnet.track.env import hostname
from glassnet.track.store.query.dialects import SQLITE
from glassnet.track.store.query.grammar import parse_filter, parse_order_by
from glassnet.track.store.query.translate import Translator, where_clause
from glassnet.track.store.records import RUN_FIELDS  # the columns Store._judged reads

DEFAULT_ORDER = "created_at DESC, seq DESC"  # newest first, as store.runs()


def dialect_of(store):
    """The store's query dialect: its backend's ``query_dialect``, else SQLite's."""
    return getattr(getattr(store, "backend", None), "query_dialect", SQLITE)


def status_expression(dialect, now: float, by_heartbeat: bool = False) -> tuple[str, list]:
    """The status a reader sees: a ``running`` run of another host whose heartbeat is
    stale reads ``crashed`` (heartbeat.py); this host's dead runs are recorded crashed
    by ``store.mark_crashed()`` before the query. ``by_heartbeat`` (a store of many
    hosts): any run whose heartbeat is stale reads crashed, this host's too."""
    if by_heartbeat:
        return ("(CASE WHEN status = 'running' AND COALESCE(heartbeat_at, 0) < ?"
                " THEN 'crashed' ELSE status END)", [now - heartbeat.STALE_AFTER_S])
    sql = (f"(CASE WHEN status = 'running' AND {dialect.distinct('host')} AND "
           "COALESCE(heartbeat_at, 0) < ? THEN 'crashed' ELSE status END)")
    return sql, [hostname(), now - heartbeat.STALE_AFTER_S]


def runs_where(tree, dialect, status_sql: str, status_params: list, archived: bool = False
               ) -> tuple[str, list]:
    """The WHERE of a filter's parse ``tree``: archived runs left out unless ``archived`` or
    the filter names ``archived_at``. Every query over runs (a search, a count, a grouping)
    selects its runs here, so they agree on which runs there are."""
    where, params = where_clause(tree, dialect, status_sql, status_params)
    if not archived and not names_field(tree, "archived_at"):
        where = f"archived_at IS NULL AND {where}"
    return where, params


def build_query(filter: str | None = None, order_by: str | None = None,
                limit: int | None = None, offset: int = 0, dialect=SQLITE,
                now: float | None = None, columns=RUN_FIELDS, by_heartbeat: bool = False,
                archived: bool = False) -> tuple[str, list]:
    """``(sql, params)`` of the SELECT for a search; FilterError on a bad filter or order.

    Archived runs are left out unless ``archived`` or the filter names ``archived_at``."""
    status_sql, status_params = status_expression(dialect, time.time() if now is None else now,
                                                  by_heartbeat)
    tree = parse_filter(filter or "")
    keys = parse_order_by(order_by or "")
    where, params = runs_where(tree, dialect, status_sql, status_params, archived)
    sql = f"SELECT {', '.join(columns)} FROM runs WHERE {where}"
    if keys:
        t = Translator(dialect, status_sql, status_params)
        sql += f" ORDER BY {t.order_by(keys)}, {DEFAULT_ORDER}"
        params += t.params
    else:
        sql += f" ORDER BY {DEFAULT_ORDER}"
    limit, offset = _count("limit", limit), _count("offset", offset)
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params += [dialect.no_limit if limit is None else limit, offset]
    return sql, params


def names_field(tree, name: str) -> bool:
    """Whether a condition of the parsed filter ``tree`` is about the field ``name``."""
    if tree is None:
        return False
    if hasattr(tree, "items"):
        return any(names_field(t, name) for t in tree.items)
    if hasattr(tree, "item"):
        return names_field(tree.item, name)
    return tree.field.name == name


def _count(name: str, value):
    if value is None and name == "limit":
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ConfigError(f"{name} must be a non-negative integer"
                          f"{' or None' if name == 'limit' else ''}, got {value!r}")
    return int(value)


def search_runs(store, filter: str | None = None, order_by: str | None = None,
                limit: int | None = None, offset: int = 0, as_records: bool = False,
                archived: bool = False):
    """Runs matching ``filter``, sorted by ``order_by`` (default newest first).

    ``filter`` is the language of docs/search.md: ``config.KEY``, ``summary.KEY``,
    ``tags``, ``status``, ``project``, ``name``, ``id``, ``host``, ``sweep``/``group``,
    ``created_at``, ``finished_at``; ``= != < <= > >= in like glob contains is null``,
    ``and or not`` and parentheses. ``order_by``: ``"summary.accuracy desc, name"``;
    runs without a sort key come last. ``limit``/``offset`` page through the result.
    Archived runs are left out unless ``archived`` is true or the filter names
    ``archived_at`` (``archived_at is not null``: only the archived ones).

    Returns a pandas DataFrame (one row per run: id, name, project, status, created_at,
    finished_at, group, tags, then config.* and summary.* columns) when pandas is
    installed and ``as_records`` is False; else a list of RunRecords.
    """
    store.mark_crashed()  # this host's dead runs: recorded crashed, so SQL sees them
    sql, params = build_query(filter, order_by, limit, offset, dialect_of(store),
                              by_heartbeat=getattr(store.backend, "crash_by_heartbeat", False),
                              archived=archived)
    records = store._judged(store._read(sql, params))
    if as_records:
        return records
    from glassnet.track.store.query.frames import runs_frame

    return runs_frame(records)
