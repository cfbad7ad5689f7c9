"""`advisor check` end to end on recorded machines: the real probes, the real worker subprocess
(with a fake torch), the real rules and renderers; only pynvml and torch are stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.machines import install_machine, load_machine, machine_names


@pytest.mark.parametrize("name", machine_names())
def test_machine(name: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    machine = load_machine(name)
    install_machine(machine, tmp_path, monkeypatch)
    expect = machine["expect"]

    result = cli("check", "--json")
    assert result.exit_code == expect["exit_code"], result.output
    report = json.loads(result.stdout)["result"]
    found = {f["id"]: f for f in report["findings"]}
    for finding_id, severity in expect["findings"].items():
        assert finding_id in found, (finding_id, sorted(found))
        assert found[finding_id]["severity"] == severity, found[finding_id]
    for finding_id in expect.get("absent", []):
        assert finding_id not in found, found[finding_id]
    for finding_id, text in expect.get("fix_contains", {}).items():
        assert text in (found[finding_id]["fix"] or ""), found[finding_id]
    for f in report["findings"]:  # every finding is complete enough to act on
        assert f["summary"] and f["subject"]
        if f["severity"] in ("fail", "warn"):
            assert f["evidence"], f
            assert f["fix"], f

    text = cli("check")
    assert text.exit_code == expect["exit_code"]
    assert "Traceback" not in text.output
    for finding_id in expect["findings"]:
        assert f"[{finding_id}]" in text.stdout
    assert f"exit code {expect['exit_code']}" in text.stdout
