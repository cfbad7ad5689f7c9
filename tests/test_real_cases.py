"""`advisor check` on machines rebuilt from public bug reports (tests/real_cases/README.md).

Each case names the cause the thread confirmed; advisor must name the same cause, give the fix
that worked, not give the wrong diagnoses a naive tool would, and exit as a preflight should.
Paths under the rebuilt machine's root are shown as the machine names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, fix_text
from tests.machines import REAL_CASES, install_machine, load_machine, machine_names

CASES = machine_names(REAL_CASES)


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_real_case(name: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = load_machine(name, REAL_CASES)
    assert case["source"].startswith("https://"), "every case keeps the thread it comes from"
    assert case.get("cause") and case.get("fix_that_worked"), "and what the thread confirmed"
    install_machine(case, tmp_path, monkeypatch)
    expect = case["expect"]

    result = cli("check", *case.get("args", []), "--json")
    assert result.exit_code == expect["exit_code"], result.output
    report = json.loads(result.stdout)["result"]
    found = {f["id"]: f for f in report["findings"]}
    cause = found.get(expect["cause"])
    assert cause is not None, (expect["cause"], sorted(found))
    assert cause["severity"] in ("fail", "warn") or expect["findings"].get(expect["cause"]) == "info"
    for finding_id, severity in expect["findings"].items():
        assert finding_id in found, (finding_id, sorted(found))
        assert found[finding_id]["severity"] == severity, found[finding_id]
    for finding_id in expect.get("absent", []):
        assert finding_id not in found or found[finding_id]["severity"] == "ok", found[finding_id]
    for finding_id, text in expect.get("fix_contains", {}).items():
        assert text in fix_text(found[finding_id]), found[finding_id]
    for f in report["findings"]:
        if f["severity"] in ("fail", "warn"):
            assert f["evidence"] and f["fix"], f

    text = cli("check", *case.get("args", []))
    assert text.exit_code == expect["exit_code"]
    assert "Traceback" not in text.output
    assert f"[{expect['cause']}]" in text.stdout
