"""Print `advisor check` as a user sees it on a recorded machine: the README's example output.

    python benchmarks/readme_check_example.py                       # the README's machine
    python benchmarks/readme_check_example.py c_err999_after_suspend_torch113 --json

MACHINE is a file stem from tests/fakes/machines/ or tests/real_cases/; the machine stands behind
the real probes exactly as in the tests (fake pynvml, a recorded /proc /sys tree, fake torch).
Paths inside the rebuilt machine's tree are printed as the machine names them.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.cli import app
from tests.machines import MACHINES, REAL_CASES, install_machine, load_machine

README_MACHINE = "rtx5090_old_torch"
# The interpreter as the recorded machine names it: its system Python, found on PATH.
RECORDED = {"executable": "/usr/bin/python3", "chosen_by": "python3 on PATH", "python_version": "3.11.7"}


def main(argv: list[str]) -> int:
    name = argv[0] if argv else README_MACHINE
    folder = REAL_CASES if (REAL_CASES / f"{name}.yaml").exists() else MACHINES
    if not (folder / f"{name}.yaml").exists():
        print(f"no machine {name!r} in {MACHINES} or {REAL_CASES}", file=sys.stderr)
        return 2
    machine = load_machine(name, folder)
    patch = pytest.MonkeyPatch()
    runner = CliRunner()
    env = {"COLUMNS": "80", "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            patch.setenv("ADVISOR_CONFIG_DIR", str(Path(tmp) / "config"))
            install_machine(machine, Path(tmp), patch)
            probed = runner.invoke(app, ["probe", "--json"], env=env)
            # The worker ran under this interpreter inside a temporary tree; the report names
            # them as the recorded box does, so the text does not depend on where this runs.
            text = probed.stdout.replace(str(Path(tmp) / "root"), "")
            text = text.replace(sys.executable, RECORDED["executable"])
            doc = json.loads(text)
            doc["result"]["target"].update(RECORDED)
            if doc["result"]["target"].get("environment"):  # ninja, as on the recorded box: none
                doc["result"]["target"]["environment"]["ninja"] = False
            snapshot = Path(tmp) / "box.json"
            snapshot.write_text(json.dumps(doc))
            args = ["check", *machine.get("args", []), *argv[1:]]
            result = runner.invoke(app, [*args, "--snapshot", str(snapshot)], env=env)
            print(f"$ advisor {' '.join(args)}")
            print(result.output, end="")
            return 0
        finally:
            patch.undo()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
