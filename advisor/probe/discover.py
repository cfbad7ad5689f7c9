"""Which Python to check: the user's environment, not advisor's own.

Installed the usual way for a CLI (pipx, `uv tool install`, its own venv), advisor runs in an
interpreter that has no torch; checking that one would check nothing. The order, first match wins:

    --python  >  $ADVISOR_PYTHON  >  $VIRTUAL_ENV (unless it is advisor's own)  >  $CONDA_PREFIX
    >  python3 / python on PATH  >  advisor's own interpreter

Standard library only, and nothing runs at import: `advisor check` calls this before its CLI
framework is even imported (see spawn.prestart).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class NoSuchInterpreter(Exception):
    """--python or $ADVISOR_PYTHON names no executable: a user error (one line, exit 2)."""


@dataclass(frozen=True)
class Choice:
    executable: str
    chosen_by: str  # one of advisor.snapshot.ChosenBy


@dataclass(frozen=True)
class Candidate:
    executable: str
    found_by: str


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def resolve(python: str, path_env: str | None = None) -> str | None:
    """An absolute path to an executable named by ``python`` (a path, or a name on PATH)."""
    expanded = os.path.expanduser(python)
    found = shutil.which(expanded, path=path_env) if os.sep not in expanded else expanded
    if not found or not _executable(found):
        return None
    return os.path.abspath(found)


def interpreter_in(prefix: str) -> str | None:
    """The Python of an environment prefix (a venv or a conda environment)."""
    for rel in ("bin/python", "bin/python3", "python.exe", "Scripts/python.exe"):
        candidate = os.path.join(prefix, rel)
        if _executable(candidate):
            return os.path.abspath(candidate)
    return None


def _same_place(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def same_environment(a: str, b: str) -> bool:
    """Whether two interpreter paths belong to one environment (``bin/python`` and ``bin/python3``
    of one venv are one place to check, not two). By folder, not by resolving the file itself: a
    venv's python is a symlink to the base interpreter, which is a different environment."""
    return a == b or _same_place(os.path.dirname(a), os.path.dirname(b))


def is_own(executable: str) -> bool:
    """Whether ``executable`` belongs to the environment advisor itself runs in. By prefix, not by
    the file a link resolves to: every venv's python links to the same base interpreter."""
    return _same_place(os.path.dirname(os.path.dirname(executable)), sys.prefix)


def choose(python: str | None, environ: Mapping[str, str] | None = None) -> Choice:
    env = os.environ if environ is None else environ
    path_env = env.get("PATH")
    if python is not None:
        found = resolve(python, path_env)
        if found is None:
            raise NoSuchInterpreter(f"--python {python}: no such executable")
        return Choice(found, "--python")
    named = env.get("ADVISOR_PYTHON")
    if named:
        found = resolve(named, path_env)
        if found is None:
            raise NoSuchInterpreter(f"$ADVISOR_PYTHON={named}: no such executable")
        return Choice(found, "$ADVISOR_PYTHON")
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = env.get(var)
        if not prefix or _same_place(prefix, sys.prefix):
            continue  # advisor's own venv, activated to run it, is not the user's environment
        found = interpreter_in(prefix)
        if found is not None:
            return Choice(found, f"${var}")
    for name in ("python3", "python"):
        found = shutil.which(name, path=path_env)
        if found and _executable(found):
            found = os.path.abspath(found)
            return Choice(found, "advisor's own" if is_own(found) else f"{name} on PATH")
    return Choice(sys.executable, "advisor's own")


def conda_environments(home: Path | None = None) -> list[str]:
    """Prefixes conda has registered (~/.conda/environments.txt), one per line."""
    path = (home or Path.home()) / ".conda" / "environments.txt"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def candidates(environ: Mapping[str, str] | None = None, home: Path | None = None) -> list[Candidate]:
    """Every interpreter the discovery order could have chosen, and conda's environments."""
    env = os.environ if environ is None else environ
    out: list[Candidate] = []

    def add(executable: str | None, found_by: str) -> None:
        if executable and not any(same_environment(c.executable, executable) for c in out):
            out.append(Candidate(executable, found_by))

    if env.get("ADVISOR_PYTHON"):
        add(resolve(env["ADVISOR_PYTHON"], env.get("PATH")), "$ADVISOR_PYTHON")
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        if env.get(var):
            add(interpreter_in(env[var]), f"${var}")
    for prefix in conda_environments(home):
        add(interpreter_in(prefix), "conda environments.txt")
    for name in ("python3", "python"):
        found = shutil.which(name, path=env.get("PATH"))
        add(os.path.abspath(found) if found else None, f"{name} on PATH")
    add(sys.executable, "advisor's own")
    return out


def _site_dirs(executable: str) -> list[Path]:
    """The site-packages folders of the environment ``executable`` belongs to, as they lie on disk.

    Read from the file system, not by running the interpreter: it is a hint for "torch is over
    there", cheap enough to ask of every candidate, and it cannot hang.
    """
    prefix = Path(executable).parent.parent
    dirs: list[Path] = []
    for lib in ("lib", "lib64"):
        for version_dir in sorted(prefix.glob(f"{lib}/python3*")):
            dirs += [version_dir / "site-packages", version_dir / "dist-packages"]
    dirs.append(prefix / "Lib" / "site-packages")  # Windows layout
    if str(prefix) == "/usr":  # Debian's system Python installs pip packages under /usr/local
        dirs += sorted(Path("/usr/local/lib").glob("python3*/dist-packages"))
    return [d for d in dirs if d.is_dir()]


def torch_on_disk(executable: str) -> tuple[str, str | None] | None:
    """(torch's folder, its version from the dist-info name) in that environment, or None."""
    for site in _site_dirs(executable):
        if (site / "torch" / "__init__.py").is_file():
            infos = sorted(site.glob("torch-*.dist-info"))
            version = infos[-1].name[len("torch-") : -len(".dist-info")] if infos else None
            return str(site / "torch"), version
    return None
