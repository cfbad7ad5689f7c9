"""The command line: parse, call, render. Thin on purpose; the work lives in the layers below.

Exit codes: 0 nothing failed; 1 a check found a failure; 2 usage or input error (and, in one
line, any error advisor did not expect: `--debug` shows its traceback); 130 interrupted by
Ctrl-C, 143 by SIGTERM. On every exit path the processes advisor started are ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import typer

# Importing the command modules registers their commands on the app, in --help order.
from advisor.cli import cards, machine, planning, reports  # noqa: F401
from advisor.cli.app import _fail, app

__all__ = ["app", "main"]


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that every finally block runs."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main() -> None:
    from advisor import procs
    from advisor.probe.spawn import prestart

    debug = "--debug" in sys.argv[1:] or os.environ.get("ADVISOR_DEBUG") == "1"
    args = [a for a in sys.argv[1:] if a != "--debug"]
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # Start importing torch in the target Python now: it is the slowest part of a check.
        prestart(args)
        code = app(args=args, standalone_mode=False)
    except (KeyboardInterrupt, Terminated) as exc:
        _interrupted(143 if isinstance(exc, Terminated) else 130)
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
        procs.end_all()
        if debug:
            raise
        command = " ".join(a for a in args[:1] if not a.startswith("-")) or "advisor"
        what = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        raise SystemExit(
            _fail(
                command, f"internal error ({what}); rerun with --debug for the traceback", "--json" in args
            ).exit_code
        ) from None
    finally:
        procs.end_all()
    if code == 130:  # typer turns Ctrl-C inside a command into exit code 130
        _interrupted(130)
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted(code: int) -> None:
    """End every child, say so, and exit with ``code``. os._exit, because after a Ctrl-C CPython
    may otherwise end the process by SIGINT itself, whatever exit code was asked for."""
    from advisor import procs
    from advisor.probe.spawn import discard

    procs.end_all()
    discard()
    typer.echo("advisor: interrupted", err=True)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
