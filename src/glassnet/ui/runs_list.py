"""The runs list's JSON (issue 20, item 1): one page of runs or of sweeps, never all rows.

    /api/runs?filter=summary.accuracy>0.9&order_by=summary.accuracy desc&group=sweep
             &offset=0&limit=50&columns=config.learning_rate,summary.accuracy,tags,note

``filter`` and ``order_by`` are the language of docs/search.md (``glassnet runs
--filter``); ``project``, ``status`` and ``sweep`` narrow it further (the list's menus
and an expanded row). ``group`` is ``""`` (runs), ``sweep`` (one row per sweep, runs of
no sweep as rows of their own) or ``project``. Each run carries only the config and
summary keys named in ``columns``, plus its tags and note. Everything is read through
the store's search functions (track/store/query/); there is no SQL here.
"""

from __future__ import annotations

from glassnet.errors import ConfigError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_COLUMNS = 60
GROUPS = ("", "sweep", "project")
_RUN_FIELDS = ("id", "name", "project", "status", "created_at", "finished_at", "group_id")
# summary keys that say "lower is better": a group's best is then its smallest
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "time", "perplexity")
# what a sweep writes in every fold's config to find it again: it varies, yet says little
_BOOKKEEPING = ("trial", "fold", "trial_key", "sweep_id", "seed")


def parse_columns(text: str) -> list[str]:
    """``"config.lr,summary.accuracy,tags"`` as a list; ConfigError on anything else."""
    columns = [c.strip() for c in (text or "").split(",") if c.strip()]
    if len(columns) > MAX_COLUMNS:
        raise ConfigError(f"columns: at most {MAX_COLUMNS}, got {len(columns)}")
    for column in columns:
        section, dot, key = column.partition(".")
        if column not in ("tags", "note") and not (section in ("config", "summary")
                                                   and dot and key):
            raise ConfigError(f"columns: {column!r} is not one of config.KEY, summary.KEY, "
                              "tags, note")
    return list(dict.fromkeys(columns))


def narrowed(filter: str, project: str = "", status: str = "", sweep: str = "") -> str:
    """``filter`` and the menus' conditions as one filter text. The user's own text is
    parsed alone first, so an error's column counts in what they typed."""
    from glassnet.track.store.query import parse_filter
    from glassnet.track.store.query.grammar import quote

    filter = (filter or "").strip()
    parse_filter(filter)  # FilterError (400) with the column in the user's text
    parts = [f"({filter})"] if filter else []
    for field, value in (("project", project), ("status", status), ("sweep", sweep)):
        if value:
            parts.append(f"{field} = {quote(value)}")
    return " and ".join(parts)


def lower_is_better(key: str) -> bool:
    name = key.rsplit("/", 1)[-1].lower()
    return any(word in name for word in _LOWER_IS_BETTER)


def score_of(score: str, order_by: str, columns: list[str]) -> str | None:
    """The sort key a group's best score is read by: ``score`` if given, else the sort's
    summary key, else the first summary column (``desc`` unless lower is better)."""
    from glassnet.track.store.query import parse_order_by

    if score:
        return score
    keys = parse_order_by(order_by or "")
    if keys and keys[0].field.kind == "json" and keys[0].field.column == "summary":
        return f"{keys[0].field.name} {'desc' if keys[0].descending else 'asc'}"
    for column in columns:
        if column.startswith("summary."):
            return f"{column} {'asc' if lower_is_better(column) else 'desc'}"
    return None


def run_row(record, columns: list[str]) -> dict:
    """A run as the list shows it: its fields, the chosen config and summary keys, its tags
    and note (``note`` read with .get: older stores have none)."""
    row = {f: record[f] for f in _RUN_FIELDS}
    row["tags"] = list(record.get("tags") or [])
    row["note"] = record.get("note") or ""
    for section in ("config", "summary"):
        keys = [c.partition(".")[2] for c in columns if c.startswith(section + ".")]
        values = record[section]
        row[section] = {k: values[k] for k in keys if k in values}
    return row


def runs_page(store, filter: str = "", order_by: str = "", group: str = "", offset: int = 0,
              limit: int = DEFAULT_LIMIT, columns: str = "", score: str = "",
              project: str = "", status: str = "", sweep: str = "") -> dict:
    """One page of the runs list (see the module's docstring)."""
    if group not in GROUPS:
        raise ConfigError(f"group must be one of '', 'sweep', 'project', got {group!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ConfigError(f"limit must be 1 to {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise ConfigError(f"offset must be 0 or more, got {offset}")
    chosen = parse_columns(columns)
    text = narrowed(filter, project, status, sweep)
    out = {"filter": text, "order_by": order_by, "group": group, "offset": offset,
           "limit": limit, "columns": chosen}
    if not group:
        records, total = store.runs_page(text or None, order_by or None, limit, offset)
        rows = [{"kind": "run", "key": r["id"], "run": run_row(r, chosen)} for r in records]
        out.update(total=total, score=None)
    else:
        best = score_of(score, order_by, chosen)
        rows, total = store.groups_page(group, text or None, best, order_by or None, limit,
                                        offset)
        for row in rows:
            if "run" in row:
                row["run"] = run_row(row["run"], chosen)
        out.update(total=total, score=best)
    out["rows"] = rows
    out["runs"] = [row["run"] for row in rows if "run" in row]
    return out


def default_columns(keys: dict, most: int = 4) -> list[str]:
    """The columns a list starts with: a few final metrics (epoch-level where the run has
    them: the per-step ones are one batch's) and the config keys whose values differ
    between runs (most common first), then tags and note."""
    summary = keys.get("summary", {})
    names = [k for k in summary if k != "epoch" and f"epoch/{k}" not in summary]
    names.sort(key=lambda k: (-summary[k][0], not k.startswith("epoch/val_"), k))
    config = keys.get("config", {})
    varying = sorted((k for k, (_, distinct) in config.items()
                      if distinct > 1 and k not in _BOOKKEEPING), key=lambda k: (-config[k][0], k))
    return ([f"summary.{k}" for k in names[:most]] + [f"config.{k}" for k in varying[:most]]
            + ["tags", "note"])


def run_columns(store) -> dict:
    """What the column chooser offers: every config and summary key with the number of runs
    that have it, and the default choice."""
    keys = store.run_keys()  # {"config": {key: [runs, distinct]}, "summary": {key: [runs]}}
    return {
        "config": [{"key": k, "runs": n, "distinct": d} for k, (n, d) in keys["config"].items()],
        "summary": [{"key": k, "runs": n} for k, (n,) in keys["summary"].items()],
        "default": default_columns(keys), "projects": store.projects(),
    }
