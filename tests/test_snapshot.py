"""A machine recorded with `advisor probe --json` is diagnosed the same anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.snapshot import SNAPSHOT_SCHEMA_VERSION
from tests.conftest import Cli, one_error_line
from tests.machines import install_machine, load_machine


@pytest.mark.parametrize("name", ["v100_driver418_cuda12", "a100_mig_ecc", "healthy_rtx3090"])
def test_probe_then_check_elsewhere(
    name: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = load_machine(name)
    install_machine(machine, tmp_path, monkeypatch)
    recorded = cli("probe", "--json")
    assert recorded.exit_code == 0
    box = tmp_path / "box.json"
    box.write_text(recorded.stdout)
    live = cli.json("check", code=machine["expect"]["exit_code"])["result"]

    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # "anywhere": no NVML at all
    replay = cli.json("check", "--snapshot", str(box), code=machine["expect"]["exit_code"])
    assert replay["result"]["findings"] == live["findings"]
    snap = json.loads(recorded.stdout)["result"]
    assert snap["schema_version"] == SNAPSHOT_SCHEMA_VERSION
    assert replay["result"]["snapshot"] == snap


def test_probe_text_output(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_machine(load_machine("healthy_rtx3090"), tmp_path, monkeypatch)
    out = cli("probe")
    assert out.exit_code == 0
    assert "GPU 0  NVIDIA GeForce RTX 3090" in out.stdout
    assert "torch 2.4.1+cu121 (CUDA 12.1, cuDNN 9.1.0, NCCL 2.20.5)" in out.stdout


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not JSON (line 1)"),
        ("[1, 2]", "expected a snapshot object"),
        ('{"schema_version": 99}', "schema_version 99 is not supported"),
        ('{"schema_version": 1, "host": {}}', "not a valid snapshot"),
    ],
)
def test_bad_snapshots(content: str, words: str, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "box.json"
    path.write_text(content)
    assert words in one_error_line(cli("check", "--snapshot", str(path)))


def test_missing_snapshot(cli: Cli, tmp_path: Path) -> None:
    assert "no such file" in one_error_line(cli("check", "--snapshot", str(tmp_path / "x.json")))
    body = cli.json("check", "--snapshot", str(tmp_path / "x.json"), code=2)
    assert "no such file" in body["error"]["message"]


def test_a_schema_1_snapshot_is_still_read(cli: Cli) -> None:
    """Recorded by the previous advisor (`advisor probe --json`, schema 1) on the two-A6000 machine
    whose GPU 1 fell off the bus: still diagnosed, its empty or unreadable lists marked unknown."""
    box = Path(__file__).parent / "fakes/snapshots/v1_two_gpus_one_lost.json"
    report = cli.json("check", "--snapshot", str(box), code=1)["result"]
    found = {f["id"]: f["severity"] for f in report["findings"]}
    assert found["gpu-lost"] == "fail"
    host = report["snapshot"]["host"]
    assert [p["address"] for p in host["pci_gpus"]["value"]] == ["0000:01:00.0", "0000:02:00.0"]
    assert host["loaded_modules"]["unavailable"] == "not_probed"  # v1 could not tell none from unread
