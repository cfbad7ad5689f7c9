"""Tables that fit the terminal: columns kept by priority, never a figure cut with "…".

A column is shown whole or not at all; the ones left out are named under the table, so the
reader knows `--wide` (or `--json`) has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Justify = Literal["left", "right"]
GAP = 2  # the blank cells between two columns


@dataclass
class Column:
    header: str
    priority: int  # 0 is kept first; every column of one priority goes together
    justify: Justify = "left"
    cells: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        # cells are rich markup: "[red]lost[/]" takes four cells
        return max([cell_len(self.header), *(Text.from_markup(c).cell_len for c in self.cells)])


def fit(columns: list[Column], width: int | None) -> tuple[list[Column], list[Column]]:
    """The columns to show within ``width`` cells (all when None), in their own order, and the
    ones left out. The highest-priority column is always kept."""
    if width is None:
        return columns, []
    kept: list[Column] = []
    used = -GAP
    for priority in sorted({c.priority for c in columns}):
        group = [c for c in columns if c.priority == priority]
        need = sum(c.width + GAP for c in group)
        if kept and used + need > width:
            break
        kept.extend(group)
        used += need
    shown = [c for c in columns if c in kept]
    return shown, [c for c in columns if c not in kept]


def table_of(columns: list[Column], *, title: str | None = None) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=None,
        pad_edge=False,
        padding=(0, GAP // 2),
        collapse_padding=False,
    )
    for c in columns:
        table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=c.width)
    for row in zip(*(c.cells for c in columns), strict=True):
        table.add_row(*row)
    return table


def print_fitted(
    console: Console,
    columns: list[Column],
    *,
    wide: bool,
    title: str | None = None,
    what: str = "",
    hint: str = "--wide shows them",
) -> None:
    """The table at the console's width (or every column with ``wide``), then one line naming
    what was left out."""
    shown, dropped = fit(columns, None if wide else console.width)
    table = table_of(shown, title=title)
    if wide:
        console.print(table, width=max(console.width, sum(c.width + GAP for c in shown)), crop=False)
    else:
        console.print(table)
    if dropped:
        names = ", ".join(c.header for c in dropped)
        console.print(f"Not shown at {console.width} columns: {names} ({hint}{what}).")


def hanging(console: Console, head: str, body: str) -> None:
    """``head`` then ``body``, the body's wrapped lines indented under its first: a long "why" or
    "fix" stays readable at 80 columns. Both are rich markup."""
    grid = Table.grid(padding=0)
    grid.add_column(width=Text.from_markup(head).cell_len, no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(head, body)
    console.print(grid)
