"""A table of plain values with column names and a title: what inspect and report return.

A :class:`Table` never prints by itself. ``print(table)`` (or ``rich.print(table)``)
shows it as a terminal table; ``to_markdown()``, ``to_csv()``, ``to_records()`` and
``to_json()`` give it to other tools. Values are kept exactly as computed (floats stay
floats); only the text renderings round them, to 4 significant digits.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence

import numpy as np

from glassnet.errors import ShapeError


class Table:
    """Rows of plain values under named columns, with a title and optional notes.

    Parameters
    ----------
    columns : sequence of str
        The column names, in order.
    rows : iterable of sequences
        One sequence of values per row, as long as ``columns``. NumPy scalars become
        Python numbers; None means "no value".
    title : str
        One line saying what the table shows.
    notes : sequence of str
        Lines printed under the table (definitions, what was left out).
    """

    def __init__(self, columns: Sequence[str], rows: Iterable[Sequence] = (), title: str = "",
                 notes: Sequence[str] = ()) -> None:
        self.columns = [str(c) for c in columns]
        self.title = str(title)
        self.notes = [str(n) for n in notes]
        self.rows: list[tuple] = []
        for i, row in enumerate(rows):
            row = tuple(_plain(v) for v in row)
            if len(row) != len(self.columns):
                raise ShapeError(f"table {self.title!r}: row {i} has {len(row)} values, "
                                 f"expected {len(self.columns)} (one per column {self.columns})")
            self.rows.append(row)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.to_records())

    def __getitem__(self, column: str) -> list:
        """All values of one column, top to bottom: ``table["mean"]``."""
        try:
            index = self.columns.index(column)
        except ValueError:
            raise KeyError(f"table {self.title!r} has no column {column!r}; "
                           f"columns: {self.columns}") from None
        return [row[index] for row in self.rows]

    def __repr__(self) -> str:
        return f"Table({self.title!r}, {len(self.rows)} rows x {len(self.columns)} columns)"

    def _repr_html_(self) -> str:  # a notebook cell's rich display (glassnet.report.display)
        from glassnet.report.display import table_html
        return table_html(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # -- renderings -------------------------------------------------------------------
    def to_records(self) -> list[dict]:
        """Each row as a dict ``{column: value}``."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_json(self, indent: int | None = None) -> str:
        """``{"title", "columns", "rows", "notes"}`` as JSON; NaN and inf become null."""
        rows = [[_json_value(v) for v in row] for row in self.rows]
        return json.dumps({"title": self.title, "columns": self.columns, "rows": rows,
                           "notes": self.notes}, indent=indent, allow_nan=False)

    def to_csv(self) -> str:
        """Header line then one line per row; numbers at full precision."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if v is None else v for v in row])
        return out.getvalue()

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table, numbers right-aligned, title as a heading."""
        lines = [f"### {self.title}", ""] if self.title else []
        numeric = self._numeric_columns()
        lines.append("| " + " | ".join(_escape(c) for c in self.columns) + " |")
        lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(_escape(format_value(v)) for v in row) + " |")
        lines.extend([""] + [f"_{_escape(n)}_" for n in self.notes] if self.notes else [])
        return "\n".join(lines) + "\n"

    def __rich__(self):
        return self.rich_table()

    def rich_table(self, width: int | None = None):
        """A rich Table; with ``width``, its columns sized to fit it (see terminal_parts)."""
        from rich.table import Table as RichTable

        table = RichTable(title=self.title or None, caption="\n".join(self.notes) or None,
                          caption_justify="left")
        widths = column_widths(self, width) if width else [None] * len(self.columns)
        for index, (column, numeric, fixed) in enumerate(
                zip(self.columns, self._numeric_columns(), widths, strict=True)):
            # the row's name never wraps; text and headers wrap at spaces; numbers, which
            # have none, fit their column whole (column_widths): never an ellipsis
            table.add_column(column, justify="right" if numeric else "left", width=fixed,
                             no_wrap=index == 0 or (numeric and fixed is None), overflow="fold")
        for row in self.rows:
            table.add_row(*(format_value(v) for v in row))
        return table

    def __str__(self) -> str:
        from rich.console import Console

        out = io.StringIO()
        # wide enough that no cell wraps: a table printed to a file or a pipe stays a grid
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(format_value(v))) for w, v in zip(widths, row, strict=True)]
        width = max(80, sum(widths) + 3 * len(widths) + 1)
        Console(file=out, width=width, color_system=None, force_terminal=False,
                force_jupyter=False).print(self)
        return out.getvalue()

    def _numeric_columns(self) -> list[bool]:
        return [all(v is None or isinstance(v, (int, float)) for v in col) and
                any(v is not None for v in col)
                for col in zip(*self.rows)] if self.rows else [False] * len(self.columns)


def format_value(value) -> str:
    """Numbers as people read them: 4 significant digits, scientific when tiny or huge."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0:
            return "0"
        magnitude = abs(value)
        if magnitude >= 1e6 or magnitude < 1e-3:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def _plain(value):
    """NumPy scalars and 0-d arrays become Python numbers; tuples/lists of ints stay text."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in value):
        return "×".join(str(int(v)) for v in value) if value else "scalar"
    return value


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _escape(text: str) -> str:
    return str(text).replace("|", "\\|")


# -- fitting a terminal -------------------------------------------------------------------
# A rich table with the default box and one space of padding each side of a cell.
BORDER_PER_COLUMN = 3


def terminal_parts(table: Table, width: int, constant: Sequence[str] = ("run",)) -> list[Table]:
    """``table`` as one or more Tables that each fit ``width`` columns, no number cut.

    A column named in ``constant`` holding one value in every row (a single run's
    report) leaves the table and goes into its title. Text cells may wrap at spaces;
    numbers never wrap. When the numbers still do not fit, the columns are split over
    parts, each repeating the row's key columns, with a note saying which went where.
    """
    table = _without_constant(table, constant)
    if _min_width(table, range(len(table.columns))) <= width:
        return [table]
    numeric = table._numeric_columns()
    choices = [(keys, _split(table, keys, width)) for keys in _key_choices(table, numeric)]
    choices = [(keys, groups) for keys, groups in choices if groups]
    if not choices:
        return [table]  # not even one column beside the keys fits: let it be wide
    # the fewest parts; on a tie the first choice, which repeats more of the row's keys
    keys, groups = min(choices, key=lambda choice: len(choice[1]))
    parts = []
    names = [[table.columns[i] for i in group if i not in keys] for group in groups]
    key_names = ", ".join(table.columns[i] for i in keys)
    for number, group in enumerate(groups, start=1):
        where = "; ".join(f"part {n}: {', '.join(cols)}" for n, cols in
                          enumerate(names, start=1))
        notes = [f"too wide for {width} columns, split in {len(groups)} parts ({where}); "
                 f"{key_names} repeated in each"] if number == 1 else []
        if number == len(groups):
            notes += table.notes
        parts.append(Table([table.columns[i] for i in group],
                           [[row[i] for i in group] for row in table.rows],
                           title=f"{table.title} (part {number} of {len(groups)})",
                           notes=notes))
    return parts


def column_widths(table: Table, width: int) -> list[int]:
    """Content width per column: natural when it fits, else text columns narrowed to wrap."""
    natural = [_natural(table, i) for i in range(len(table.columns))]
    least = [_least(table, i) for i in range(len(table.columns))]
    spare = width - _min_width(table, range(len(natural)))
    if sum(natural) + BORDER_PER_COLUMN * len(natural) + 1 <= width or spare < 0:
        return natural
    widths = list(least)
    # hand the spare columns out one at a time to the text column wrapped the most
    while spare > 0:
        short = [i for i in range(len(widths)) if widths[i] < natural[i]]
        if not short:
            break
        i = max(short, key=lambda j: natural[j] - widths[j])
        widths[i] += 1
        spare -= 1
    return widths


def _without_constant(table: Table, constant) -> Table:
    drop = [i for i, c in enumerate(table.columns) if c in constant and len(table.rows) > 1 and
            len({row[i] for row in table.rows}) == 1 and len(table.columns) > 1]
    if not drop:
        return table
    said = ", ".join(f"{table.columns[i]} {format_value(table.rows[0][i])}" for i in drop)
    keep = [i for i in range(len(table.columns)) if i not in drop]
    return Table([table.columns[i] for i in keep], [[row[i] for i in keep] for row in table.rows],
                 title=f"{table.title}, {said}" if table.title else said, notes=table.notes)


def _cells(table: Table, index: int) -> list[str]:
    return [format_value(row[index]) for row in table.rows]


def _natural(table: Table, index: int) -> int:
    from rich.cells import cell_len

    return max([cell_len(table.columns[index])] +
               [cell_len(line) for cell in _cells(table, index) for line in cell.split("\n")])


def _least(table: Table, index: int) -> int:
    """The first column (the row's name) whole; numbers whole; text and headers as narrow
    as their longest word.

    The first column never wraps so that a row's continuation lines read as such; a
    number has no space, so a column at least as wide as its longest never wraps it.
    """
    from rich.cells import cell_len

    if index == 0:
        return _natural(table, index)
    words = [w for text in [table.columns[index], *_cells(table, index)] for w in text.split()]
    if table._numeric_columns()[index]:
        words += _cells(table, index)  # "-inf", "1.235e+04": never split
    return max((cell_len(w) for w in words), default=1)


def _min_width(table: Table, indices) -> int:
    indices = list(indices)
    return sum(_least(table, i) for i in indices) + BORDER_PER_COLUMN * len(indices) + 1


def _key_choices(table: Table, numeric: list[bool]) -> list[list[int]]:
    """The columns to repeat in each part: the first and the text ones, else the first only."""
    text = [i for i in range(1, len(numeric)) if not numeric[i]]
    choices = [[0, *text]] if text else []
    return choices + [[0]]


def _split(table: Table, keys: list[int], width: int) -> list[list[int]] | None:
    groups: list[list[int]] = []
    current: list[int] = []
    for i in range(len(table.columns)):
        if i in keys:
            continue
        if current and _min_width(table, sorted({*keys, *current, i})) > width:
            groups.append(current)
            current = []
        if _min_width(table, sorted({*keys, i})) > width:
            return None
        current.append(i)
    if current:
        groups.append(current)
    return [sorted({*keys, *group}) for group in groups]
