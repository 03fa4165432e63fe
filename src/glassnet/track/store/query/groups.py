"""Runs counted, grouped and summarised in the database: what a runs list of 10,000 needs.

    store.count_runs("summary.accuracy > 0.9")                  # how many match
    store.search_groups("sweep", filter="project = 'digits'",   # one row per sweep
                        score="summary.cv_score desc", order_by="summary.cv_score desc",
                        limit=50, offset=0)
    store.run_keys()        # the config and summary keys the runs have, with counts

A group row is a sweep (or a project) with its number of runs and trials, its latest
start, how many of its runs are running, finished, or failed/crashed, and its **best
score**: runs of a trial (the same ``config.trial`` in one sweep: the folds of one
configuration) are averaged first, and the best trial mean is the group's score, as
``glassnet.sklearn``'s sweeps pick their best trial. A run of no trial is a trial of its
own. In ``by="sweep"``, a run of no sweep is a row of its own (``kind == "run"``, with
its record).

The filter and sort keys are the language of docs/search.md (grammar.py); the SQL is
written from the same dialect pieces as search.py's, every value a bound parameter.
"""

from __future__ import annotations

import time

from glassnet.errors import ConfigError, FilterError
from glassnet.track.store.query.grammar import parse_filter, parse_order_by
from glassnet.track.store.query.search import (
    _count,
    build_query,
    dialect_of,
    runs_where,
    status_expression,
)
from glassnet.track.store.query.translate import Translator
from glassnet.track.store.records import RUN_FIELDS

GROUPINGS = {"sweep": "group_id", "project": "project"}
_FAILED = "('failed', 'crashed')"
_NULL = "CAST(NULL AS DOUBLE PRECISION)"  # a typed NULL: PostgreSQL has no AVG(text)


class _Sql:
    """SQL text and its parameters, kept in the order the text names them."""

    def __init__(self) -> None:
        self.params: list = []

    def take(self, piece: tuple[str, list]) -> str:
        sql, params = piece
        self.params.extend(params)
        return sql


def count_runs(store, filter: str | None = None) -> int:
    """How many runs match ``filter`` (the language of docs/search.md)."""
    store.mark_crashed()
    dialect = dialect_of(store)
    status_sql, status_params = status_expression(dialect, time.time())
    where, params = runs_where(parse_filter(filter or ""), dialect, status_sql, status_params)
    return int(store._read(f"SELECT COUNT(*) FROM runs WHERE {where}", params)[0][0])


def _key(text: str | None, what: str):
    """The one sort key of ``text`` (``"summary.cv_score desc"``), or None."""
    keys = parse_order_by(text or "")
    if len(keys) > 1:
        raise FilterError(f"{what} takes one field, got {len(keys)}: {text!r}")
    return keys[0] if keys else None


def _number_or_column(sql: _Sql, t: Translator, field) -> str:
    if field.kind == "json":  # a config or summary key: its numbers (text sorts as missing)
        return sql.take(t.d.json_typed(field.column, field.path, "number"))
    if field.kind == "status":
        return sql.take((t.status_sql, list(t.status_params)))
    return field.column  # grammar.COLUMNS' fixed names only


def group_query(by: str, filter=None, score=None, order_by=None, limit=None, offset=0,
                dialect=None, now=None, trial_key: str = "trial") -> tuple[str, list]:
    """``(sql, params)`` of :func:`search_groups`'s SELECT (FilterError on a bad text).

    Rows: ``g, lone, runs, trials, best, created_at, project, running, finished, failed,
    sort value, total`` (total: the rows without the limit)."""
    if by not in GROUPINGS:
        raise ConfigError(f"runs group by one of {sorted(GROUPINGS)}, got {by!r}")
    from glassnet.track.store.query.dialects import SQLITE

    dialect = dialect or SQLITE
    status_sql, status_params = status_expression(dialect, time.time() if now is None else now)
    score_key, sort_key = _key(score, "score"), _key(order_by, "order_by")
    if score_key is not None and score_key.field.kind != "json":
        raise FilterError(f"a group's score is a summary or config key, got {score!r}")
    sql, t = _Sql(), Translator(dialect, status_sql, status_params)
    group = GROUPINGS[by]
    # the trial as it is (any JSON value groups): one read of config, where a typed one is two
    trial = sql.take(dialect.json_sort("config", (trial_key,)))
    status = sql.take((status_sql, list(status_params)))
    score_sql = _NULL if score_key is None else _number_or_column(sql, t, score_key.field)
    by_score = sort_key is not None and score_key is not None and \
        sort_key.field == score_key.field
    if sort_key is None:
        sort_sql, descending = "created_at", True
    else:
        sort_sql = _NULL if by_score else _number_or_column(sql, t, sort_key.field)
        if sort_key.field.name == "name":  # a group's name is its key; a lone run's, its own
            sort_sql = f"COALESCE({group}, name)" if by == "sweep" else group
        descending = sort_key.descending
    agg = "MAX" if descending else "MIN"
    best = "MAX" if score_key is None or score_key.descending else "MIN"
    lone = f"CASE WHEN {group} IS NULL THEN id END" if by == "sweep" else "NULL"
    base = (f"SELECT {group} AS g, {lone} AS lone, group_id AS sw, {trial} AS t, id, "
            f"{status} AS st, {score_sql} AS sc, {sort_sql} AS so, created_at AS c, "
            "project AS p FROM runs")
    where = sql.take(runs_where(parse_filter(filter or ""), dialect, status_sql,
                                status_params))
    trials = ("SELECT g, lone, COUNT(*) AS n, AVG(sc) AS s, MAX(c) AS c, MIN(p) AS p, "
              "SUM(CASE WHEN st = 'running' THEN 1 ELSE 0 END) AS r, "
              "SUM(CASE WHEN st = 'finished' THEN 1 ELSE 0 END) AS f, "
              f"SUM(CASE WHEN st IN {_FAILED} THEN 1 ELSE 0 END) AS x, {agg}(so) AS o "
              f"FROM ({base} WHERE {where}) AS b "
              # a run of no trial is a trial of its own
              "GROUP BY g, lone, sw, t, CASE WHEN t IS NULL THEN id END")
    order = f"{best}(s)" if by_score else f"{agg}(o)"
    groups = (f"SELECT g, lone, SUM(n) AS n, COUNT(*) AS k, {best}(s) AS s, MAX(c) AS c, "
              f"MIN(p) AS p, SUM(r) AS r, SUM(f) AS f, SUM(x) AS x, {order} AS o "
              f"FROM ({trials}) AS tr GROUP BY g, lone")
    # the total before LIMIT, on every row: a page needs no second pass to count
    text = (f"SELECT *, COUNT(*) OVER () AS total FROM ({groups}) AS grp "
            f"ORDER BY (o IS NULL), o{' DESC' if descending else ''}, c DESC, g, lone")
    limit, offset = _count("limit", limit), _count("offset", offset)
    if limit is not None or offset:
        text += " LIMIT ? OFFSET ?"
        sql.params += [dialect.no_limit if limit is None else limit, offset]
    return text, sql.params


def search_groups(store, by: str = "sweep", filter=None, score=None, order_by=None,
                  limit=None, offset: int = 0, trial_key: str = "trial") -> list[dict]:
    """The runs matching ``filter``, one row per sweep (``by="sweep"``) or project.

    ``score`` (``"summary.cv_score desc"``: higher is better; ``asc``: lower) is what a
    group's ``best`` is; ``order_by`` sorts the groups by one field: the score's field
    (by the best), another key (by its largest value in the group when descending, its
    smallest when ascending), ``name`` (a sweep's id), ``created_at`` (the latest) or a
    column. Default: newest first. Each row: ``{"kind": "sweep"|"project"|"run", "key",
    "runs", "trials", "best", "created_at", "project", "running", "finished", "failed"}``;
    a ``run`` row (a run of no sweep) also has ``"run"``: its record.
    """
    return groups_page(store, by, filter, score, order_by, limit, offset, trial_key)[0]


def groups_page(store, by: str = "sweep", filter=None, score=None, order_by=None,
                limit=None, offset: int = 0, trial_key: str = "trial") -> tuple[list, int]:
    """``(rows, total)``: :func:`search_groups`'s rows and how many there are unlimited."""
    store.mark_crashed()
    sql, params = group_query(by, filter, score, order_by, limit, offset, dialect_of(store),
                              trial_key=trial_key)
    found = store._read(sql, params)
    total = found[0][-1] if found else None
    rows = []
    for g, lone, n, k, s, c, p, r, f, x, _, _ in found:
        rows.append({"kind": "run" if lone is not None else by, "key": lone or g,
                     "runs": int(n), "trials": int(k), "best": None if s is None else float(s),
                     "created_at": c, "project": p, "running": int(r), "finished": int(f),
                     "failed": int(x)})
    records = records_by_id(store, [row["key"] for row in rows if row["kind"] == "run"])
    for row in rows:
        if row["kind"] == "run":
            row["run"] = records[row["key"]]
    if total is None:  # a page past the end: count on its own
        total = count_groups(store, by, filter)
    return rows, int(total)


def records_by_id(store, ids: list[str]) -> dict:
    """``{id: RunRecord}`` of the runs ``ids`` (read by primary key)."""
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = store._read(f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE id IN ({marks})",
                       list(ids))
    return {record["id"]: record for record in store._judged(rows)}


def runs_page(store, filter=None, order_by=None, limit: int = 50, offset: int = 0
              ) -> tuple[list, int]:
    """``(records, total)``: the runs ``search_runs`` finds at ``offset`` (``limit`` of them)
    and how many it finds in all, in one pass: the runs are sorted as their ids alone (a
    10,000-run sort of whole rows copies every config and environment), then the page's
    records are read by id."""
    store.mark_crashed()
    sql, params = build_query(filter, order_by, limit, offset, dialect_of(store),
                              columns=("id", "COUNT(*) OVER ()"))
    found = store._read(sql, params)
    if not found:
        return [], count_runs(store, filter)
    records = records_by_id(store, [row[0] for row in found])
    return [records[row[0]] for row in found], int(found[0][1])


def count_groups(store, by: str = "sweep", filter=None) -> int:
    """How many rows :func:`search_groups` gives for ``filter`` without a limit."""
    sql, params = group_query(by, filter, dialect=dialect_of(store))
    store.mark_crashed()
    return int(store._read(f"SELECT COUNT(*) FROM ({sql}) AS counted", params)[0][0])


def run_keys(store) -> dict:
    """``{"config": {key: [runs having it, distinct values]}, "summary": {key: [runs]}}``:
    the top-level keys of every run's config and summary, for a column chooser."""
    dialect = dialect_of(store)
    out = {}
    for column in ("config", "summary"):  # objects, as the store writes them
        if dialect.name == "postgresql":
            each = f"jsonb_each({dialect.document(column)})"
        else:
            each = f"json_each({dialect.document(column)})"
        distinct = ", COUNT(DISTINCT e.value)" if column == "config" else ""  # what varies
        sql = (f"SELECT e.key, COUNT(*){distinct} FROM runs, {each} AS e "
               "WHERE e.key IS NOT NULL GROUP BY e.key")
        out[column] = {str(row[0]): [int(n) for n in row[1:]]
                       for row in sorted(store._read(sql))}
    return out
