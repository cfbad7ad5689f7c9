"""Set up a recorded machine (tests/fakes/machines/*.yaml) behind advisor's real probes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.probe import collect
from advisor.probe.host import ENVIRONMENT_KEYS
from tests.fakes.fake_pynvml import FakeNvml

FAKES = Path(__file__).resolve().parent / "fakes"
MACHINES = FAKES / "machines"
TORCH_SITE = FAKES / "torch_site"


def machine_names() -> list[str]:
    return sorted(p.stem for p in MACHINES.glob("*.yaml"))


def load_machine(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((MACHINES / f"{name}.yaml").read_text())
    return data


def build_root(root: Path, host: dict[str, Any]) -> Path:
    """A /proc, /sys, /dev tree holding what the host probe reads on such a machine."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')
    (root / "proc").mkdir()
    (root / "proc/meminfo").write_text("MemTotal:       263855696 kB\n")
    (root / "proc/cpuinfo").write_text(
        "".join(f"processor\t: {i}\nmodel name\t: AMD EPYC 7742 64-Core Processor\n\n" for i in range(8))
    )
    (root / "proc/version").write_text("Linux version 5.15.0-105-generic (buildd@lcy02)\n")
    devices = root / "sys/bus/pci/devices"
    devices.mkdir(parents=True)
    for pci in host.get("pci", []):
        dev = devices / pci["address"]
        dev.mkdir()
        (dev / "vendor").write_text("0x10de\n")
        (dev / "device").write_text(pci["device"].lower() + "\n")
        (dev / "class").write_text("0x030200\n")
        if pci.get("driver"):
            target = root / "sys/bus/pci/drivers" / pci["driver"]
            target.mkdir(parents=True, exist_ok=True)
            (dev / "driver").symlink_to(target)
    if host.get("kernel_module"):
        (root / "proc/driver/nvidia").mkdir(parents=True)
        (root / "proc/driver/nvidia/version").write_text(host["kernel_module"] + "\n")
    (root / "dev").mkdir()
    for node in host.get("dev", []):
        (root / "dev" / node).write_text("")
    if "modules" in host:  # /proc/modules: name size refcount deps state address
        (root / "proc/modules").write_text(
            "".join(f"{m} 1 0 - Live 0x0000000000000000\n" for m in host["modules"])
        )
    for lib in host.get("files", []):  # driver libraries, cuda-compat libcuda ...
        path = root / lib.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    if host.get("dockerenv"):
        (root / ".dockerenv").write_text("")
    return root


def install_machine(machine: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    """Point the NVML, host and target-Python probes at the recorded machine."""
    fake = FakeNvml(machine.get("nvml", {}))
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    monkeypatch.setattr(collect, "HOST_ROOT", build_root(tmp_path / "root", machine.get("host", {})))
    for key in ENVIRONMENT_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in machine.get("env", {}).items():
        monkeypatch.setenv(key, value)
    # The CUDA toolkit the worker finds: CUDA_HOME decides alone when set, so the test machine's
    # own nvcc never leaks in. A machine may declare one: toolchain: {nvcc: "12.1"}.
    cuda_home = tmp_path / "cuda"
    (cuda_home / "bin").mkdir(parents=True)
    nvcc = machine.get("toolchain", {}).get("nvcc")
    if nvcc:
        script = cuda_home / "bin" / "nvcc"
        script.write_text(
            "#!/bin/sh\necho 'nvcc: NVIDIA (R) Cuda compiler driver'\n"
            f"echo 'Cuda compilation tools, release {nvcc}, V{nvcc}.105'\n"
        )
        script.chmod(0o755)
    monkeypatch.setenv("CUDA_HOME", str(cuda_home))
    config = tmp_path / "torch.json"
    config.write_text(json.dumps(machine.get("torch", {"missing": True})))
    monkeypatch.setenv("ADVISOR_FAKE_TORCH", str(config))
    monkeypatch.setenv("PYTHONPATH", str(TORCH_SITE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return fake
