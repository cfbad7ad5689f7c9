"""Starting the target-Python worker, with nothing but the standard library.

`advisor check` starts the worker before it even imports its own CLI framework (see
`prestart`), because importing torch in the worker is the floor of a check's wall time: everything
else should overlap with it. So this module must stay cheap to import.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass, field
from pathlib import Path

from advisor.procs import Child, Finished, run

WORKER = Path(__file__).resolve().parent / "worker" / "target_worker.py"
DEFAULT_TIMEOUT_S = 60.0


@dataclass
class RunningProbe:
    executable: str
    timeout_s: float
    child: Child
    args: tuple[str, ...] = field(default=())

    @property
    def start_error(self) -> str | None:
        return self.child.start_error

    def finish(self) -> Finished:
        return self.child.finish(self.timeout_s)


def spawn(
    executable: str, timeout_s: float, *, script: Path = WORKER, args: tuple[str, ...] = ()
) -> RunningProbe:
    child = Child([executable, str(script), *args], env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    return RunningProbe(executable, timeout_s, child, args=args)


_prestarted: RunningProbe | None = None


def prestart(argv: list[str]) -> None:
    """Start the worker for `advisor check|probe` straight from argv, before the CLI loads.

    Only the plain cases are recognised; anything unusual is left to the normal path, which
    starts the worker itself.
    """
    global _prestarted
    commands = [a for a in argv if not a.startswith("-")]
    if not commands or commands[0] not in ("check", "probe"):
        return
    if any(a in ("--snapshot", "--no-python", "-h", "--help") or a.startswith("--snapshot=") for a in argv):
        return
    python, timeout = None, DEFAULT_TIMEOUT_S
    for i, arg in enumerate(argv):
        value = argv[i + 1] if i + 1 < len(argv) else None
        if arg.startswith("--python="):
            python = arg.split("=", 1)[1]
        elif arg == "--python":
            python = value
        elif arg.startswith("--timeout=") or arg == "--timeout":
            try:
                timeout = float(arg.split("=", 1)[1] if "=" in arg else value or "")
            except ValueError:
                return
    from advisor.probe.discover import NoSuchInterpreter, choose

    try:
        resolved = choose(python).executable
    except NoSuchInterpreter:
        return  # the normal path reports it
    if not 0 < timeout <= 3600:
        return
    args = ("--frameworks",) if "--frameworks" in argv else ()
    _prestarted = spawn(resolved, timeout, args=args)
    atexit.register(discard)


def claim(executable: str, timeout_s: float, args: tuple[str, ...] = ()) -> RunningProbe | None:
    """The prestarted worker, if it was started for exactly this interpreter and timeout."""
    global _prestarted
    probe, _prestarted = _prestarted, None
    if probe is not None and (probe.executable, probe.timeout_s, probe.args) == (executable, timeout_s, args):
        return probe
    if probe is not None:
        probe.child.finish(0)  # ends it at once
    return None


def discard() -> None:
    """A prestarted worker nobody claimed (the command failed first) must not outlive advisor."""
    global _prestarted
    if _prestarted is not None:
        _prestarted.child.finish(0)
    _prestarted = None


def run_bounded(argv: list[str], timeout_s: float) -> tuple[int | None, str]:
    """Run a short command to completion or its deadline; (exit code or None on timeout, stdout)."""
    done = run(argv, timeout_s)
    if done.returncode is None and not done.timed_out:
        return None, done.stderr
    return done.returncode, done.stdout
