"""The rich console, degraded to plain text when stdout is not a terminal."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def make_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    # Piped output keeps its tables whole (no 80-column wrap) and carries no colour codes.
    width = None if is_tty else int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(
        file=stream,
        width=width,
        no_color=not is_tty or "NO_COLOR" in os.environ,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )
