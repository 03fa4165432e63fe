"""The run filter language: a tokenizer and a recursive-descent parser to a small AST.

Grammar (keywords are case-insensitive)::

    filter    := or_expr
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := unary ("and" unary)*
    unary     := "not" unary | "(" or_expr ")" | predicate
    predicate := FIELD OP value                        OP: = == != <> < <= > >=
               | FIELD ["not"] "in" "(" value ("," value)* ")"
               | FIELD ["not"] ("like" | "glob") STRING
               | "tags" ["not"] "contains" STRING             (a tag)
               | TEXT_FIELD ["not"] "contains" STRING       (a substring, any case)
               | FIELD "is" ["not"] "null"
    value     := NUMBER | STRING | "true" | "false"
    order_by  := FIELD ["asc" | "desc"] ("," FIELD ["asc" | "desc"])*

FIELD is ``config.KEY[.KEY...]``, ``summary.KEY[.KEY...]`` (a key may hold ``/`` and
``-``: ``summary.epoch/val_accuracy``), ``tags`` or one of :data:`COLUMNS`. Strings take
single or double quotes, with ``\\'``, ``\\"``, ``\\\\``, ``\\n`` and ``\\t`` escapes. Dates
(``created_at``, ``finished_at``) compare with an ISO string (UTC unless it says
otherwise) or Unix seconds. Nothing here touches SQL: translate.py turns the AST into a
parameterised WHERE clause.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from glassnet.errors import FilterError
from glassnet.track.store.query.nodes import (
    And,
    Compare,
    Contains,
    Field,
    InList,
    IsNull,
    Like,
    Not,
    Or,
    SortKey,
    Token,
)

MAX_FILTER_CHARS = 10_000
MAX_DEPTH = 64  # nested parentheses and "not"s
MAX_CONDITIONS = 200  # keeps the SQL under SQLite's expression depth (1000)
MAX_IN_VALUES = 500

KEYWORDS = {"and", "or", "not", "in", "like", "glob", "contains", "is", "null", "true",
            "false", "asc", "desc"}
OPERATORS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
# name in the filter -> (column of the runs table, kind)
COLUMNS = {
    "id": ("id", "text"), "name": ("name", "text"), "project": ("project", "text"),
    "status": ("status", "status"), "host": ("host", "text"),
    "group": ("group_id", "text"), "sweep": ("group_id", "text"),
    "group_id": ("group_id", "text"),
    "created_at": ("created_at", "time"), "finished_at": ("finished_at", "time"),
    "note": ("note", "text"), "archived_at": ("archived_at", "time"),
}
DOCUMENTS = ("config", "summary")
STATUSES = ("running", "finished", "failed", "crashed")
_KEY = re.compile(r"[\w/-]+")

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[^\W\d][\w./-]*)
  | (?P<op><=|>=|!=|<>|==|=|<|>|\(|\)|,)
  | (?P<quote>['"])
""", re.VERBOSE)
_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "t": "\t"}


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; FilterError on a stray character."""
    if not isinstance(text, str):
        raise FilterError(f"a filter must be a string, got {type(text).__name__}")
    if len(text) > MAX_FILTER_CHARS:
        raise FilterError(f"a filter may be at most {MAX_FILTER_CHARS} characters long, "
                          f"got {len(text)}")
    tokens, i = [], 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if match is None:
            raise FilterError(f"unexpected character {text[i]!r}", i + 1)
        kind = match.lastgroup
        if kind == "quote":
            value, end = _string(text, i)
            tokens.append(Token("string", text[i:end], value, i + 1))
            i = end
            continue
        word = match.group()
        if kind == "number":
            value = float(word) if any(c in word for c in ".eE") else int(word)
            tokens.append(Token("number", word, value, i + 1))
        elif kind == "ident":
            if word.lower() in KEYWORDS:
                tokens.append(Token("keyword", word, word.lower(), i + 1))
            else:
                tokens.append(Token("ident", word, word, i + 1))
        elif kind == "op":
            tokens.append(Token("op", word, word, i + 1))
        i = match.end()
    tokens.append(Token("end", "", None, len(text) + 1))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                break
            escaped = _ESCAPES.get(text[i + 1])
            if escaped is None:
                raise FilterError(f"unknown escape \\{text[i + 1]} in a string (known: "
                                  "\\' \\\" \\\\ \\n \\t)", i + 1)
            out.append(escaped)
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise FilterError(f"the string opened here has no closing {quote}", start + 1)


def like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (``\\`` escapes ``%``, ``_``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def quote(text: str) -> str:
    """``text`` as a filter's string literal: ``quote("it's")`` is ``'it\\'s'``."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def describe(token: Token) -> str:
    return "end of filter" if token.kind == "end" else repr(token.text)


class Parser:
    """Recursive descent over :func:`tokenize`'s tokens; each method parses one rule."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    # -- token helpers -------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, *words: str) -> Token | None:
        token = self.token
        if token.kind in ("keyword", "op") and token.value in words:
            return self.advance()
        return None

    def fail(self, expected: str, after: Token | None = None):
        where = f" after {after.text!r}" if after is not None else ""
        raise FilterError(f"expected {expected}{where}, got {describe(self.token)}",
                          self.token.column)

    def expect_end(self) -> None:
        if self.token.kind != "end":
            self.fail("'and', 'or' or the end of the filter")

    # -- rules ---------------------------------------------------------------------
    def or_expr(self):
        items = [self.and_expr()]
        while self.accept("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self):
        items = [self.unary()]
        while self.accept("and"):
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterError(f"a filter may nest parentheses and 'not' at most {MAX_DEPTH} "
                              "deep", self.token.column)
        try:
            if self.accept("not"):
                return Not(self.unary())
            opening = self.accept("(")
            if opening:
                inner = self.or_expr()
                if not self.accept(")"):
                    self.fail(f"')' to close the '(' at column {opening.column}")
                return inner
            return self.predicate()
        finally:
            self.depth -= 1

    def predicate(self):
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise FilterError(f"a filter may hold at most {MAX_CONDITIONS} conditions",
                              self.token.column)
        field = self.field()
        token = self.token
        if token.kind == "op" and token.value in OPERATORS:
            self.advance()
            op = {"==": "=", "<>": "!="}.get(token.value, token.value)
            return Compare(field, op, self.checked(field, op, self.value(token)))
        if self.accept("is"):
            negated = bool(self.accept("not"))
            if not self.accept("null"):
                self.fail("'null'", self.tokens[self.i - 1])
            return IsNull(field, negated)
        negated = bool(self.accept("not"))
        if self.accept("in"):
            return InList(field, self.in_values(field), negated)
        word = self.accept("like", "glob", "contains")
        if word is None:
            self.fail(f"an operator (= != < <= > >= in like glob contains is) after field "
                      f"{field.name!r}")
        if word.value == "contains":
            if field.kind == "tags":
                return Contains(field, self.string(word), negated)
            if field.kind != "text":
                raise FilterError(f"'contains' applies to tags and to text fields (note, "
                                  f"name...), not to {field.name!r}", word.column)
            pattern = "%" + like_escape(self.string(word)) + "%"  # a substring, any case
            return Like(field, pattern, False, negated)
        if field.kind not in ("text", "status", "json"):
            raise FilterError(f"'{word.value}' applies to text fields, not to {field.name!r}",
                              word.column)
        return Like(field, self.string(word), word.value == "glob", negated)

    def field(self) -> Field:
        token = self.token
        if token.kind != "ident":
            self.fail("a field (config.KEY, summary.KEY, tags, " + ", ".join(COLUMNS) + ")")
        self.advance()
        return field_named(token)

    def value(self, after: Token):
        token = self.token
        if token.kind in ("number", "string"):
            return self.advance().value
        if token.kind == "keyword" and token.value in ("true", "false"):
            return self.advance().value == "true"
        self.fail("a value (a number, a quoted string, true or false)", after)

    def string(self, after: Token) -> str:
        if self.token.kind != "string":
            self.fail("a quoted string", after)
        return self.advance().value

    def in_values(self, field: Field) -> tuple:
        opening = self.tokens[self.i - 1]
        if not self.accept("("):
            self.fail("'(' and a list of values", opening)
        values = []
        while True:
            after = self.tokens[self.i - 1]
            values.append(self.checked(field, "=", self.value(after)))
            if len(values) > MAX_IN_VALUES:
                raise FilterError(f"'in' takes at most {MAX_IN_VALUES} values",
                                  self.token.column)
            if self.accept(")"):
                return tuple(values)
            if not self.accept(","):
                self.fail("',' or ')'")

    def checked(self, field: Field, op: str, value):
        """The value, made the field's type (dates to Unix seconds), or FilterError."""
        where = self.tokens[self.i - 1].column
        if field.kind == "tags":
            raise FilterError("tags are matched with contains: tags contains 'baseline'",
                              where)
        if isinstance(value, bool) and (field.kind != "json" or op not in ("=", "!=")):
            raise FilterError(f"true and false compare with = or != on config or summary "
                              f"keys, not with {op!r} on {field.name!r}", where)
        if field.kind == "time":
            return _timestamp(value, field, where)
        if field.kind in ("text", "status") and not isinstance(value, str):
            raise FilterError(f"{field.name} is text: expected a quoted string, got {value!r}",
                              where)
        if field.kind == "status" and op in ("=", "!=") and value not in STATUSES:
            raise FilterError(f"status is one of {', '.join(STATUSES)}, got {value!r}", where)
        return value

    def order_by(self) -> list[SortKey]:
        keys = []
        while True:
            field = self.field()
            if field.kind == "tags":
                raise FilterError("runs cannot be sorted by tags", self.tokens[self.i - 1].column)
            word = self.accept("asc", "desc")
            keys.append(SortKey(field, word is not None and word.value == "desc"))
            if self.token.kind == "end":
                return keys
            if not self.accept(","):
                self.fail("',' and another field, 'asc', 'desc' or the end")


def field_named(token: Token) -> Field:
    name = token.text
    head, dot, rest = name.partition(".")
    if head in DOCUMENTS and dot:
        keys = tuple(rest.split("."))
        if not all(_KEY.fullmatch(k) for k in keys):
            raise FilterError(f"{name!r} is not a {head} key: keys are letters, digits, "
                              "_ / and -, joined by '.'", token.column)
        return Field(name, "json", head, keys)
    if name == "tags":
        return Field(name, "tags", "tags")
    if name in COLUMNS:
        column, kind = COLUMNS[name]
        return Field(name, kind, column)
    raise FilterError(f"unknown field {name!r}: expected config.KEY, summary.KEY, tags or "
                      f"one of {', '.join(COLUMNS)}", token.column)


def _timestamp(value, field: Field, column: int) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{field.name} takes an ISO date ('2026-11-23' or "
                          f"'2026-11-23T11:40:00+00:00') or Unix seconds, got {value!r}",
                          column) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_filter(text: str):
    """The AST of a filter (None for an empty one); FilterError names column and expectation."""
    parser = Parser(text)
    if parser.token.kind == "end":
        return None
    tree = parser.or_expr()
    parser.expect_end()
    return tree


def parse_order_by(text: str) -> list[SortKey]:
    """``"summary.accuracy desc, created_at"`` as sort keys (ascending unless ``desc``)."""
    parser = Parser(text)
    if parser.token.kind == "end":
        return []
    return parser.order_by()
