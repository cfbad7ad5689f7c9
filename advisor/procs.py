"""Every child process advisor starts: one place that starts, bounds, reads and ends them.

A child runs in its own session (so it and everything it starts can be ended together), with no
stdin, its output read without blocking up to a cap, until a deadline. It is ended on every exit
path: its deadline, an error, Ctrl-C or SIGTERM (`end_all`, called by the CLI). A process that
leaves the session (setsid) and keeps the output pipes open cannot hold advisor: after the child
itself has exited, advisor reads for a short grace, closes the pipes and names the holders.

Standard library only: `advisor check` starts its worker before the CLI framework is imported.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_OUTPUT = 8 * 1024 * 1024  # bytes kept of each stream; a flood is cut and said to be
GRACE_S = 0.5  # reading after the child has exited, for what its children still write


@dataclass
class Finished:
    returncode: int | None  # None: it did not exit by itself (killed at its deadline)
    stdout: str
    stderr: str
    timed_out: bool = False
    truncated: bool = False  # output past MAX_OUTPUT was dropped
    escaped: list[int] = field(default_factory=list)  # PIDs still holding its output open
    duration_s: float = 0.0


_LIVE: set[Child] = set()


class Child:
    """A started child process. Read it with `finish` (or `stream`), which always ends it."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.started = time.monotonic()
        self.start_error: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._out = bytearray()
        self._err = bytearray()
        self._truncated = False
        self.result: Finished | None = None  # set once it has been read to its end
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=env,
            )
        except OSError as exc:
            self.start_error = f"cannot run {self.argv[0]}: {exc.strerror or exc}"
            return
        _LIVE.add(self)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def kill(self) -> None:
        """End the child and its whole session (SIGKILL). The child is not reaped before this,
        so its process group still exists and reaches every process it started."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    def exited(self) -> bool:
        """Whether the child has exited, without reaping it (its group stays killable)."""
        proc = self.process
        if proc is None or proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def finish(self, timeout_s: float) -> Finished:
        """Read everything until the child ends or ``timeout_s`` after it started, then end it."""
        return self.stream(timeout_s, None)

    def stream(self, timeout_s: float, on_line: Callable[[str], None] | None) -> Finished:
        """As `finish`, calling ``on_line`` with each complete line of stdout as it arrives."""
        proc = self.process
        if proc is None:
            return Finished(None, "", self.start_error or "not started")
        if self.result is not None:
            return self.result
        deadline = self.started + timeout_s
        timed_out = False
        escaped: list[int] = []
        pending = b""
        try:
            with selectors.DefaultSelector() as sel:
                for stream, sink in ((proc.stdout, self._out), (proc.stderr, self._err)):
                    if stream is not None and not stream.closed:
                        os.set_blocking(stream.fileno(), False)
                        sel.register(stream, selectors.EVENT_READ, sink)
                exited_at: float | None = None
                while sel.get_map():
                    now = time.monotonic()
                    if exited_at is None and self.exited():
                        exited_at = now
                    if exited_at is not None and now > exited_at + GRACE_S:
                        break  # the child is gone; what still holds the pipes is not ours to wait for
                    if now > deadline:
                        timed_out = True
                        self.kill()
                        deadline = now + GRACE_S  # read what the killed session left, then stop
                        exited_at = exited_at or now
                        continue
                    wait = min(deadline, (exited_at or now) + GRACE_S) - now
                    for key, _ in sel.select(timeout=max(0.01, min(wait, 0.1))):
                        chunk = os.read(key.fd, 65536)
                        if not chunk:
                            sel.unregister(key.fileobj)
                            continue
                        sink = key.data
                        if key.fileobj is proc.stdout and on_line is not None:
                            pending += chunk
                            *lines, pending = pending.split(b"\n")
                            for line in lines:
                                on_line(line.decode("utf-8", "replace"))
                        self._keep(sink, chunk)
                escaped = _holders(proc) if sel.get_map() else []
        finally:
            # every exit path, an exception (Ctrl-C) included: end it, close, reap, keep what came
            self.kill()
            _close(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE_S)
            _LIVE.discard(self)
            self.result = Finished(
                returncode=None if timed_out else proc.returncode,
                stdout=self._out.decode("utf-8", "replace"),
                stderr=self._err.decode("utf-8", "replace"),
                timed_out=timed_out,
                truncated=self._truncated,
                escaped=escaped,
                duration_s=time.monotonic() - self.started,
            )
        return self.result

    def _keep(self, sink: bytearray, chunk: bytes) -> None:
        room = MAX_OUTPUT - len(sink)
        if len(chunk) > room:
            self._truncated = True
            chunk = chunk[: max(room, 0)]
        sink.extend(chunk)


def run(argv: Sequence[str], timeout_s: float, *, env: dict[str, str] | None = None) -> Finished:
    """Start a child and read it to the end or its deadline."""
    return Child(argv, env=env).finish(timeout_s)


def end_all() -> None:
    """End every child still running (Ctrl-C, SIGTERM, exit): killed, closed and reaped."""
    for child in list(_LIVE):
        child.kill()
        with contextlib.suppress(OSError):
            child.finish(0)
        _LIVE.discard(child)


def live() -> list[int]:
    return [c.pid for c in _LIVE if c.pid is not None]


def _close(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _holders(proc: subprocess.Popen[bytes]) -> list[int]:
    """PIDs of processes that hold the write end of this child's output pipes (Linux /proc)."""
    inodes = set()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):
                inodes.add(f"pipe:[{os.fstat(stream.fileno()).st_ino}]")
    found = []
    proc_root = Path("/proc")
    me = os.getpid()
    for entry in proc_root.iterdir() if proc_root.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        found.append(int(entry.name))
                        break
    return sorted(found)
