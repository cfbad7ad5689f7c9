"""Print `advisor check` as a user sees it on a recorded machine: the README's example output.

    python benchmarks/readme_check_example.py                       # the README's machine
    python benchmarks/readme_check_example.py c_err999_after_suspend_torch113 --json

MACHINE is a file stem from tests/fakes/machines/ or tests/real_cases/; the machine stands behind
the real probes exactly as in the tests (fake pynvml, a recorded /proc /sys tree, fake torch).
Paths inside the rebuilt machine's tree are printed as the machine names them.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.cli import app
from tests.machines import MACHINES, REAL_CASES, install_machine, load_machine

README_MACHINE = "rtx5090_old_torch"


def main(argv: list[str]) -> int:
    name = argv[0] if argv else README_MACHINE
    folder = REAL_CASES if (REAL_CASES / f"{name}.yaml").exists() else MACHINES
    if not (folder / f"{name}.yaml").exists():
        print(f"no machine {name!r} in {MACHINES} or {REAL_CASES}", file=sys.stderr)
        return 2
    machine = load_machine(name, folder)
    patch = pytest.MonkeyPatch()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            patch.setenv("ADVISOR_PYTHON", "/usr/bin/python3")  # as it reads on the recorded box
            patch.setenv("ADVISOR_CONFIG_DIR", str(Path(tmp) / "config"))
            install_machine(machine, Path(tmp), patch)
            # the worker runs here, under this interpreter, named in the report as /usr/bin/python3
            patch.setenv("ADVISOR_PYTHON", sys.executable)
            args = ["check", *machine.get("args", []), *argv[1:]]
            result = CliRunner().invoke(app, args, env={"COLUMNS": "80", "NO_COLOR": "1"})
            text = result.output.replace(str(Path(tmp) / "root"), "").replace(
                sys.executable, "/usr/bin/python3"
            )
            print(f"$ advisor {' '.join(args)}")
            print(text, end="")
            return 0
        finally:
            patch.undo()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
