"""What the filter's SQL says differently in SQLite and in PostgreSQL.

translate.py writes one WHERE clause for both databases and asks a dialect only for the
pieces that differ: the placeholder, reading a typed value out of a JSON column, a tag
test, pattern matching, a null-safe inequality and sort expressions. Every method
returns ``(sql, params)``: the SQL text is ours alone; anything that came from the user
(values, patterns, JSON keys) travels in ``params``.

JSON paths are bound parameters too: SQLite's ``$."key"."sub"`` (keys are checked by
grammar.py to hold no quote), PostgreSQL's ``text[]`` path for ``#>`` / ``#>>``.
"""

from __future__ import annotations

# The JSON types that match a filter value's Python type, per dialect.
_SQLITE_TYPES = {"number": "('integer', 'real')", "text": "('text')",
                 "bool": "('true', 'false')"}


class SQLiteDialect:
    """SQLite 3.38+: JSON1 functions on the TEXT columns config, summary and tags."""

    name = "sqlite"
    param = "?"
    no_limit = -1  # LIMIT's "all rows"

    def document(self, column: str) -> str:
        """The column as JSON SQLite can parse. Python's json writes NaN and Infinity,
        which SQLite before 3.42 rejects (and would fail the whole query): read those
        documents with NaN and +-Infinity as null (a key spelled with them is lost then)."""
        fixed = (f"replace(replace(replace({column}, '-Infinity', 'null'), 'Infinity', "
                 "'null'), 'NaN', 'null')")
        return (f"(CASE WHEN json_valid({column}) THEN {column} "
                f"WHEN json_valid({fixed}) THEN {fixed} END)")

    def json_path(self, keys: tuple[str, ...]) -> str:
        return "$" + "".join(f'."{k}"' for k in keys)

    def json_typed(self, column: str, keys: tuple[str, ...], kind: str) -> tuple[str, list]:
        """The value at ``keys`` when its JSON type is ``kind`` (number, text, bool), else NULL."""
        doc, path = self.document(column), self.json_path(keys)
        value = f"json_extract({doc}, ?)"
        if kind == "bool":  # JSON true/false read as 1/0; compared with a bound 1/0
            value = f"(json_type({doc}, ?) = 'true')"
        return (f"(CASE WHEN json_type({doc}, ?) IN {_SQLITE_TYPES[kind]} THEN {value} END)",
                [path, path])

    def json_is_null(self, column: str, keys: tuple[str, ...]) -> tuple[str, list]:
        """True when the key is missing or holds JSON null."""
        return (f"(COALESCE(json_type({self.document(column)}, ?), 'null') = 'null')",
                [self.json_path(keys)])

    def json_sort(self, column: str, keys: tuple[str, ...]) -> tuple[str, list]:
        """A sort expression: SQLite orders NULL < numbers < text by itself."""
        return f"json_extract({self.document(column)}, ?)", [self.json_path(keys)]

    def bool_param(self, value: bool):
        return int(value)

    def tags_contain(self, column: str, tag: str) -> tuple[str, list]:
        return (f"EXISTS (SELECT 1 FROM json_each({self.document(column)}) AS tag"
                " WHERE tag.type = 'text' AND tag.value = ?)", [tag])

    def like(self, expr: str, pattern: str) -> tuple[str, list]:
        """SQL LIKE (``%`` ``_``, ``\\`` escapes them), case-insensitive for ASCII."""
        return f"({expr} LIKE ? ESCAPE '\\')", [pattern]

    def glob(self, expr: str, pattern: str) -> tuple[str, list]:
        """Shell glob: ``*`` and ``?``, case-sensitive; ``[`` is literal (as in PostgreSQL)."""
        return f"({expr} GLOB ?)", [pattern.replace("[", "[[]")]

    def distinct(self, expr: str) -> str:
        """``expr`` is not equal to the next parameter, NULLs compared as values."""
        return f"{expr} IS NOT ?"


class PostgresDialect:
    """PostgreSQL 12+: config, summary and tags as text (or json/jsonb) columns, read
    with ``::jsonb``. The writer must store valid JSON there: jsonb rejects NaN and
    Infinity (write null). Placeholders are ``?``, as in every statement of the store:
    the backend turns them into psycopg's ``%s`` (no ``?`` or ``%`` appears otherwise)."""

    name = "postgresql"
    param = "?"
    no_limit = None

    def document(self, column: str) -> str:
        return f"({column})::jsonb"

    def json_path(self, keys: tuple[str, ...]) -> list[str]:
        return list(keys)

    def json_typed(self, column: str, keys: tuple[str, ...], kind: str) -> tuple[str, list]:
        doc, path = self.document(column), self.json_path(keys)
        cast = {"number": "::float8", "text": "", "bool": "::boolean"}[kind]
        json_type = {"number": "number", "text": "string", "bool": "boolean"}[kind]
        return (f"(CASE WHEN jsonb_typeof({doc} #> ?::text[]) = '{json_type}'"
                f" THEN ({doc} #>> ?::text[]){cast} END)", [path, path])

    def json_is_null(self, column: str, keys: tuple[str, ...]) -> tuple[str, list]:
        return (f"(COALESCE(jsonb_typeof({self.document(column)} #> ?::text[]), 'null')"
                " = 'null')", [self.json_path(keys)])

    def json_sort(self, column: str, keys: tuple[str, ...]) -> tuple[str, list]:
        """SQLite's order, not jsonb's (strings < numbers): numbers and booleans (as 0/1)
        by value, then text byte by byte (``COLLATE "C"``, whatever the database's
        locale), arrays and objects as their JSON text among it. A row of (rank,
        number, text); a JSON null or a missing key is a row of NULLs: ``IS NULL``."""
        value = f"({self.document(column)} #> ?::text[])"
        kind = f"jsonb_typeof({value})"
        sql = (f"ROW(CASE {kind} WHEN 'number' THEN 0 WHEN 'boolean' THEN 0 WHEN 'string'"
               " THEN 1 WHEN 'array' THEN 1 WHEN 'object' THEN 1 END,"
               f" CASE {kind} WHEN 'number' THEN ({value} #>> '{{}}')::float8"
               f" WHEN 'boolean' THEN CASE WHEN ({value} #>> '{{}}') = 'true' THEN 1.0"
               " ELSE 0.0 END END,"
               f" (CASE {kind} WHEN 'string' THEN {value} #>> '{{}}'"
               f" WHEN 'array' THEN {value}::text WHEN 'object' THEN {value}::text END)"
               ' COLLATE "C")')
        return sql, [self.json_path(keys)] * sql.count("?")

    def bool_param(self, value: bool):
        return bool(value)

    def tags_contain(self, column: str, tag: str) -> tuple[str, list]:
        return f"({self.document(column)} @> jsonb_build_array(?::text))", [tag]

    def like(self, expr: str, pattern: str) -> tuple[str, list]:
        """A pattern ending in a lone escape matches nothing, as in SQLite (PostgreSQL
        would raise "LIKE pattern must not end with escape character")."""
        if _ends_in_lone_escape(pattern):
            return "(?::text IS NULL)", [pattern]
        return f"({expr} ILIKE ? ESCAPE '\\')", [pattern]

    def glob(self, expr: str, pattern: str) -> tuple[str, list]:
        return f"({expr} LIKE ? ESCAPE '\\')", [glob_to_like(pattern)]

    def distinct(self, expr: str) -> str:
        return f"{expr} IS DISTINCT FROM ?"


def _ends_in_lone_escape(pattern: str) -> bool:
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i == len(pattern) - 1:
                return True
            i += 1
        i += 1
    return False


def glob_to_like(pattern: str) -> str:
    """``*`` -> ``%``, ``?`` -> ``_``; LIKE's own ``%``, ``_`` and ``\\`` escaped."""
    out = []
    for c in pattern:
        if c in "%_\\":
            out.append("\\" + c)
        else:
            out.append({"*": "%", "?": "_"}.get(c, c))
    return "".join(out)


SQLITE = SQLiteDialect()
POSTGRESQL = PostgresDialect()
