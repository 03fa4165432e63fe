"""Read back the HTML that glassnet shows in a notebook: tables, matrices, text (stdlib parser)."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np


class Reader(HTMLParser):
    """Collects every table (rows of cell texts), every matrix and the whole visible text.

    A matrix is a ``div.glassnet-matrix`` with ``data-label`` and ``data-shape``; its
    cells are read as numbers ("…" marks the rows or columns left out).
    """

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.matrices: list[dict] = []
        self.text_parts: list[str] = []
        self.classes: list[str] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._matrix_depth: list[int] = []
        self._depth = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes += (attrs.get("class") or "").split()
        if tag == "div":
            self._depth += 1
            if "glassnet-matrix" in (attrs.get("class") or ""):
                self.matrices.append({"label": attrs["data-label"], "shape": attrs["data-shape"],
                                      "rows": []})
                self._matrix_depth.append(self._depth)
        elif tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "div":
            if self._matrix_depth and self._matrix_depth[-1] == self._depth:
                self._matrix_depth.pop()
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None and self._stack:
            self._stack[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._stack:
            table = self._stack.pop()
            if self._matrix_depth:
                self.matrices[-1]["rows"] = table
            else:
                self.tables.append(table)

    def handle_data(self, data):
        self.text_parts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def matrix(self, label: str, index: int = 0) -> dict:
        found = [m for m in self.matrices if m["label"] == label]
        labels = [m["label"] for m in self.matrices]
        assert len(found) > index, f"no matrix {label!r} #{index}: {labels}"
        return found[index]


def numbers(rows: list[list[str]]) -> np.ndarray:
    """A matrix's cells as floats (no "…" in them: a matrix shown whole)."""
    return np.array([[float(c) for c in row] for row in rows])
