"""Tables and lines for the inspection commands: rich on a terminal, the same characters without rich otherwise.

Importing rich costs a fast command (``tfod info small.tfrecord``) about a third of its start-up. Off a terminal
rich prints no colours, so for plain content — printable ASCII, no markup but the few tags these commands use,
nothing to wrap or fold — :class:`PlainConsole` writes the very characters rich would (tests/test_startup.py
compares them); anything else goes to rich itself.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> PlainConsole(out).print(TableSpec("Subsets", ("subset", "records"), [("train", 3)], right=(1,)))
    >>> for line in out.getvalue().splitlines():
    ...     print(repr(line))
    'Subsets         '
    'subset ┃ records'
    '━━━━━━━╇━━━━━━━━'
    'train  │       3'
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

WIDTH = 160  # off a terminal (a file, `less`, CI logs): wide tables instead of rich's 80-column default
_TAGS = re.compile(r"\[(?:bold|red|green|/)\]")  # the markup these commands put in their lines


@dataclass(frozen=True)
class TableSpec:
    """A table as the commands describe it; a console draws it (rich's ``Table`` with these settings)."""

    title: str | None
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    right: Sequence[int] = field(default=())  # indexes of right-justified columns

    def to_rich(self) -> Any:
        from rich.table import Table

        table = Table(title=self.title, title_justify="left", title_style="bold", show_edge=False, pad_edge=False)
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="right" if index in self.right else "left", overflow="fold")
        for row in self.rows:
            table.add_row(*(str(value) for value in row))
        return table


def console() -> Any:
    """The console of an inspection command's output: rich's on a terminal, else a :class:`PlainConsole`."""
    if sys.stdout.isatty():
        return RichConsole()
    return PlainConsole()


class RichConsole:
    """rich's console (colours, the terminal's width), printing lines and :class:`TableSpec` tables."""

    def __init__(self, width: int | None = None, stream: IO[str] | None = None) -> None:
        from rich.console import Console

        self._console = Console(highlight=False, soft_wrap=False, width=width, file=stream)

    def print(self, what: str | TableSpec) -> None:
        self._console.print(what.to_rich() if isinstance(what, TableSpec) else what)


class PlainConsole:
    """Prints what rich prints off a terminal at :data:`WIDTH` columns, without importing rich for plain content."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._rich: RichConsole | None = None

    def print(self, what: str | TableSpec) -> None:
        lines = _table_lines(what) if isinstance(what, TableSpec) else _line(what)
        if lines is None:  # beyond plain content: rich draws it
            if self._rich is None:
                self._rich = RichConsole(width=WIDTH, stream=self._stream)
            self._rich.print(what)
            return
        stream = self._stream or sys.stdout
        stream.write("".join(line + "\n" for line in lines))
        stream.flush()


def _plain(text: str) -> bool:
    """Printable ASCII without markup (one cell a character, nothing rich would read as a tag or an escape)."""
    return text.isascii() and text.isprintable() and "[" not in text and "\\" not in text


def _line(text: str) -> list[str] | None:
    stripped = _TAGS.sub("", text)
    if not _plain(stripped) or len(stripped) > WIDTH:
        return None
    return [stripped]


def _table_lines(table: TableSpec) -> list[str] | None:
    cells = [[str(value) for value in row] for row in table.rows]
    texts = [*table.columns, *(cell for row in cells for cell in row), table.title or ""]
    if not all(_plain(text) for text in texts):
        return None
    count = len(table.columns)
    widths = [max([len(table.columns[index]), *(len(row[index]) for row in cells)]) for index in range(count)]
    # a cell is padded by one space on each side, but not at the table's edges (rich's pad_edge=False)
    padded = [width + (index > 0) + (index < count - 1) for index, width in enumerate(widths)]
    total = sum(padded) + count - 1
    if total > WIDTH or len(table.title or "") > total:  # rich would fold cells or wrap the title
        return None

    def row_line(values: Sequence[str], separator: str) -> str:
        parts = []
        for index, value in enumerate(values):
            text = value.rjust(widths[index]) if index in table.right else value.ljust(widths[index])
            parts.append((" " if index > 0 else "") + text + (" " if index < count - 1 else ""))
        return separator.join(parts)

    lines = [] if table.title is None else [table.title.ljust(total)]
    lines.append(row_line(table.columns, "┃"))
    lines.append("╇".join("━" * width for width in padded))
    lines.extend(row_line(row, "│") for row in cells)
    return lines
