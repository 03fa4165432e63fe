"""The filter's AST as a parameterised WHERE clause, and sort keys as an ORDER BY.

Each condition is two-valued: a run without the key, or with a value of another type
(``config.lr < 0.01`` where lr is the string "auto"), does not match, and ``not``
matches exactly the runs the condition does not. SQL text comes only from this module
and the dialect; field names pick a column from a fixed table (grammar.COLUMNS), JSON
keys and every value are bound parameters.
"""

from __future__ import annotations

from glassnet.track.store.query import nodes as g

_COMPARISONS = {"=", "!=", "<", "<=", ">", ">="}


class Translator:
    """One WHERE clause: ``sql`` with ``params`` in order. ``status_sql`` is the status
    expression to use (the store's, with running runs judged crashed by heartbeat)."""

    def __init__(self, dialect, status_sql: str = "status", status_params=()) -> None:
        self.d = dialect
        self.status_sql = status_sql
        self.status_params = list(status_params)
        self.params: list = []

    def bind(self, value) -> str:
        self.params.append(self.d.bool_param(value) if isinstance(value, bool) else value)
        return self.d.param

    def piece(self, sql_and_params: tuple[str, list]) -> str:
        sql, params = sql_and_params
        self.params.extend(params)
        return sql

    def where(self, tree) -> str:
        if isinstance(tree, g.And):
            return "(" + " AND ".join(self.where(t) for t in tree.items) + ")"
        if isinstance(tree, g.Or):
            return "(" + " OR ".join(self.where(t) for t in tree.items) + ")"
        if isinstance(tree, g.Not):
            return f"(NOT {self.where(tree.item)})"
        return f"COALESCE({self.condition(tree)}, FALSE)"

    # -- one condition -------------------------------------------------------------
    def condition(self, node) -> str:
        field = node.field
        if isinstance(node, g.Contains):
            sql = self.piece(self.d.tags_contain(field.column, node.value))
            return f"(NOT {sql})" if node.negated else sql
        if isinstance(node, g.IsNull):
            if field.kind == "json":
                sql = self.piece(self.d.json_is_null(field.column, field.path))
            else:
                sql = f"({self.column(field)} IS NULL)"
            return f"(NOT {sql})" if node.negated else sql
        if isinstance(node, g.Like):
            expr = self.typed(field, "text")
            sql = self.piece((self.d.glob if node.glob else self.d.like)(expr, node.pattern))
            return f"(NOT {sql})" if node.negated else sql
        if isinstance(node, g.Compare):
            return self.compare(field, node.op, node.value)
        if isinstance(node, g.InList):
            return self.in_list(field, node.values, node.negated)
        raise TypeError(f"not a filter condition: {node!r}")

    def compare(self, field: g.Field, op: str, value) -> str:
        if op not in _COMPARISONS:
            raise ValueError(f"unknown operator {op!r}")
        return f"({self.typed(field, _kind(value))} {op} {self.bind(value)})"

    def in_list(self, field: g.Field, values: tuple, negated: bool) -> str:
        by_kind: dict[str, list] = {}
        for v in values:
            by_kind.setdefault(_kind(v), []).append(v)
        parts = []
        for kind, group in by_kind.items():
            expr = self.typed(field, kind)
            marks = ", ".join(self.bind(v) for v in group)
            parts.append(f"{expr} IN ({marks})")
        sql = "(" + " OR ".join(parts) + ")"
        return f"(NOT COALESCE({sql}, FALSE))" if negated else sql

    # -- what a field reads as ------------------------------------------------------
    def column(self, field: g.Field) -> str:
        if field.kind == "status":
            self.params.extend(self.status_params)
            return self.status_sql
        return field.column  # one of grammar.COLUMNS' fixed names, never user text

    def typed(self, field: g.Field, kind: str) -> str:
        """The field's value where it is of ``kind`` (number, text, bool), else NULL."""
        if field.kind == "json":
            return self.piece(self.d.json_typed(field.column, field.path, kind))
        return self.column(field)

    def order_by(self, keys: list[g.SortKey]) -> str:
        """ORDER BY terms; runs lacking the key come last either way."""
        terms = []
        for key in keys:
            for_null = self.sort_expr(key.field)  # written twice: each with its own params
            expr = self.sort_expr(key.field)
            terms.append(f"({for_null} IS NULL), {expr}{' DESC' if key.descending else ''}")
        return ", ".join(terms)

    def sort_expr(self, field: g.Field) -> str:
        if field.kind == "json":
            return self.piece(self.d.json_sort(field.column, field.path))
        return self.column(field)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "text"


def where_clause(tree, dialect, status_sql: str = "status", status_params=()
                 ) -> tuple[str, list]:
    """``(sql, params)`` of the WHERE clause (without the keyword) for a parsed filter."""
    if tree is None:
        return "TRUE" if dialect.name == "postgresql" else "1", []
    t = Translator(dialect, status_sql, status_params)
    return t.where(tree), t.params
