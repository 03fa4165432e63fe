"""The filter's syntax tree: what grammar.py builds and translate.py turns into SQL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "ident", "keyword", "op", "end"
    text: str  # the token as written
    value: object  # the number, the unescaped string, the lower-case keyword
    column: int  # 1-based


@dataclass(frozen=True)
class Field:
    """A thing a run has: ``kind`` "text", "status", "time", "tags" or "json"."""
    name: str  # as written: "config.learning_rate"
    kind: str
    column: str  # the runs table's column: "config", "status", "group_id"...
    path: tuple[str, ...] = ()  # the keys inside a JSON column


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # = != < <= > >=
    value: object  # float, int, str or bool


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple
    negated: bool = False


@dataclass(frozen=True)
class Like:
    field: Field
    pattern: str
    glob: bool  # glob: * ? and case-sensitive; like: % _ and case-insensitive
    negated: bool = False


@dataclass(frozen=True)
class Contains:
    field: Field
    value: str
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


@dataclass(frozen=True)
class SortKey:
    field: Field
    descending: bool
