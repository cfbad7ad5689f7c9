"""Every NVML call made to fail in turn, with every kind of NVML error: still a report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from advisor.probe.nvml import probe_nvml
from tests.conftest import Cli
from tests.fakes.fake_pynvml import FakeNvml
from tests.machines import install_machine, load_machine

KINDS = [
    "NotSupported",
    "FunctionNotFound",
    "NoPermission",
    "GpuIsLost",
    "Unknown",
    "InvalidArgument",
    "Deprecated",
    "Timeout",
]
H100 = load_machine("h100_thermal")


def _calls() -> list[str]:
    """Every pynvml function the probe calls on a full-featured machine, in order."""
    fake = FakeNvml(H100["nvml"])
    mp = pytest.MonkeyPatch()
    mp.setitem(sys.modules, "pynvml", fake.module())
    try:
        probe_nvml()
    finally:
        mp.undo()
    return sorted(set(fake.calls) - {"nvmlInit", "nvmlShutdown"})


CALLS = _calls()


def test_the_probe_asks_for_everything_the_issue_lists() -> None:
    for name in [
        "nvmlSystemGetDriverVersion",
        "nvmlSystemGetCudaDriverVersion_v2",
        "nvmlDeviceGetPciInfo",
        "nvmlDeviceGetCurrPcieLinkWidth",
        "nvmlDeviceGetCurrentClocksEventReasons",
        "nvmlDeviceGetTotalEccErrors",
        "nvmlDeviceGetRemappedRows",
        "nvmlDeviceGetMigMode",
        "nvmlDeviceGetComputeRunningProcesses",
        "nvmlDeviceGetNvLinkState",
        "nvmlDeviceGetPersistenceMode",
        "nvmlDeviceGetComputeMode",
    ]:
        assert name in CALLS


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", CALLS)
def test_one_failing_call_still_gives_a_report(
    call: str, kind: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = json.loads(json.dumps(H100))
    if call.startswith("nvmlDevice") and call not in ("nvmlDeviceGetCount",):
        # calls that take a device handle fail for that GPU; the others fail system-wide
        where = machine["nvml"] if call == "nvmlDeviceGetHandleByIndex" else machine["nvml"]["gpus"][0]
        where["errors"] = {call: kind}
    else:
        machine["nvml"]["errors"] = {call: kind}
    install_machine(machine, tmp_path, monkeypatch)
    result = cli("check", "--no-python", "--json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)["result"]
    assert report["snapshot"]["nvml"]["init_error"] is None
    if kind == "GpuIsLost" and call not in ("nvmlDeviceGetCount",) and call.startswith("nvmlDevice"):
        assert "gpu-lost" in {f["id"] for f in report["findings"]}


@pytest.mark.parametrize(
    "kind",
    ["LibraryNotFound", "DriverNotLoaded", "LibRmVersionMismatch", "NoPermission", "Unknown"],
)
def test_init_failures_are_recorded(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml({"init_error": kind}).module())
    snap = probe_nvml()
    assert snap.init_error is not None
    assert kind in (snap.init_detail or "")
    assert snap.gpus == []


def test_reasons_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = load_machine("geforce_unsupported")
    fake = FakeNvml(machine["nvml"])
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    snap = probe_nvml()
    gpu = snap.gpus[0]
    assert gpu.power_draw_w.unavailable == "not_supported"
    assert gpu.ecc_mode.unavailable == "not_supported"
    assert gpu.architecture.unavailable == "function_not_found"
    assert gpu.brand.unavailable == "error" and "Unknown" in (gpu.brand.detail or "")
    # renamed and versioned APIs: the older variant answered, and the snapshot says which
    assert gpu.clock_event_reasons.value == ["gpu_idle"]
    assert snap.api_paths["clock_event_reasons"] == "nvmlDeviceGetCurrentClocksThrottleReasons"
    assert snap.api_paths["pcie_gen_max"] == "nvmlDeviceGetMaxPcieLinkGeneration"
    assert snap.api_paths["cuda_driver_version"] == "nvmlSystemGetCudaDriverVersion"
    assert snap.cuda_driver_version_text == "11.4"
    assert fake.initialised == 0  # nvmlShutdown ran


def test_missing_pynvml_module_is_a_finding(monkeypatch: pytest.MonkeyPatch, cli: Cli) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    result = cli("check", "--no-python", "--json")
    assert result.exit_code == 0
    ids = {f["id"] for f in json.loads(result.stdout)["result"]["findings"]}
    assert "nvml-unavailable" in ids
