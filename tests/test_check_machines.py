"""`advisor check` end to end on recorded machines: the real probes, the real worker subprocess
(with a fake torch), the real rules and renderers; only pynvml and torch are stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, assert_fits, fix_text
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
        assert text in fix_text(found[finding_id]), found[finding_id]
    rule_ids = {r["rule"] for r in report["outcomes"]}
    for f in report["findings"]:  # a passed check is named by its rule, not the failure it did not find
        if f["severity"] == "ok":
            assert f["id"] in rule_ids, f["id"]
    for f in report["findings"]:  # every finding is complete enough to act on
        assert f["summary"] and f["subject"]
        if f["severity"] in ("fail", "warn"):
            assert f["evidence"], f
            assert f["fix"], f

    text = cli("check", env={"COLUMNS": "80"})
    assert text.exit_code == expect["exit_code"]
    assert "Traceback" not in text.output
    assert_fits(text.output, 80)
    for finding_id in expect["findings"]:
        assert f"[{finding_id}]" in text.stdout
    assert f"exit code {expect['exit_code']}" in text.stdout


HEALTHY = [n for n in machine_names() if load_machine(n)["expect"]["exit_code"] == 0]


@pytest.mark.parametrize("name", HEALTHY)
def test_an_unrelated_cuda_toolkit_never_fails_a_healthy_machine(
    name: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on this development VM: a CUDA 13 nvcc beside torch's own CUDA 12 build. It matters only
    to extension builds, so the preflight stays green unless --build-extensions asks about them."""
    machine = load_machine(name) | {"toolchain": {"nvcc": "13.0"}}
    install_machine(machine, tmp_path, monkeypatch)
    report = cli.json("check")["result"]
    found = {f["id"]: f["severity"] for f in report["findings"]}
    assert report["exit_code"] == 0
    assert found.get("nvcc-mismatch") in ("warn", None)
    assert "Toolkit  nvcc 13.0" in cli("check").stdout
    built = report["snapshot"]["target"]["torch"]["cuda_version"]
    if built and not built.startswith("13"):
        assert found["nvcc-mismatch"] == "warn"
        assert cli("check", "--build-extensions").exit_code == 1
