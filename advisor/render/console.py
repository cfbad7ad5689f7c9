"""The rich console, degraded to plain text when stdout is not a terminal."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 200


class _Unpadded:
    """A text stream that drops the spaces rich pads each line with: piped output is read by
    diff, grep and editors, where trailing blanks are noise."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()


def colour_wanted(is_tty: bool, env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """https://no-color.org: NO_COLOR counts only when non-empty; https://force-color.org:
    FORCE_COLOR (non-empty) colours a pipe too. NO_COLOR wins when both are set."""
    if env.get("NO_COLOR", ""):
        return False
    if env.get("FORCE_COLOR", ""):
        return True
    return is_tty


def make_console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_tty = stream.isatty()
    colour = colour_wanted(is_tty)
    # Piped output keeps its tables whole (no 80-column wrap) unless COLUMNS says otherwise.
    width = None if is_tty else int(os.environ.get("COLUMNS", "0") or 0) or PIPED_WIDTH
    return Console(
        file=stream if is_tty else _Unpadded(stream),  # type: ignore[arg-type]
        width=width,
        no_color=not colour,
        force_terminal=True if colour and not is_tty else None,
        color_system="auto" if colour else None,
        highlight=False,
        soft_wrap=False,
        emoji=False,
    )
