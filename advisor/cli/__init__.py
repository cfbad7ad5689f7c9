"""The command line: parse, call, render. Thin on purpose; the work lives in the layers below.

Exit codes: 0 nothing failed; 1 a check found a failure; 2 usage or input error.
"""

from __future__ import annotations

import sys

import typer

# Importing the command modules registers their commands on the app, in --help order.
from advisor.cli import cards, machine, planning  # noqa: F401
from advisor.cli.app import _fail, app

__all__ = ["app", "main"]


def main() -> None:
    from advisor.probe.spawn import prestart

    # Start importing torch in the target Python now: it is the slowest part of a check.
    prestart(sys.argv[1:])
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        typer.echo("advisor: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        if "NoArgsIsHelpError" in kinds:  # the help has been printed
            sys.exit(0)
        if "UsageError" in kinds:  # unknown option, bad choice: one line, like every input error
            formatter = getattr(exc, "format_message", None)
            message = formatter() if callable(formatter) else str(exc)
            command = " ".join(a for a in sys.argv[1:3] if not a.startswith("-")) or "advisor"
            raise SystemExit(
                _fail(command, f"{message} (see advisor --help)", "--json" in sys.argv[1:]).exit_code
            ) from None
        raise
    sys.exit(code if isinstance(code, int) else 0)
