"""Plain-text tables for the command line (shared by every command module)."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Sequence


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Iterable[int] = ()
) -> str:
    """Formats rows as an aligned table with a header and a dashed rule.

    Args:
        headers: Column titles.
        rows: One sequence of cells per row, as many as ``headers``; cells are ``str()``-ed.
        right: Indices of the columns to align right (numbers).

    Returns:
        The table, lines joined by newlines, without a trailing newline.
    """
    cells = [list(map(str, headers))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    right = set(right)

    def line(row: list[str]) -> str:
        pairs = enumerate(zip(row, widths, strict=True))
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in pairs)
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def format_fields(fields: Sequence[tuple[str, object]], *, width: int | None = None) -> str:
    """Formats ``(label, value)`` pairs as aligned lines, wrapping long values.

    Args:
        fields: Pairs in display order; values are ``str()``-ed.
        width: Line width; defaults to the terminal's (100 when unknown).

    Returns:
        The lines joined by newlines, without a trailing newline.
    """
    width = width or shutil.get_terminal_size((100, 24)).columns
    label_width = max(len(label) for label, _ in fields)
    indent = " " * (label_width + 2)
    lines = []
    for label, value in fields:
        wrapped = textwrap.wrap(
            str(value),
            width=max(width, label_width + 30),
            initial_indent=label.ljust(label_width) + "  ",
            subsequent_indent=indent,
        )
        lines.extend(wrapped or [label])
    return "\n".join(lines)
