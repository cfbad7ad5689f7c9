"""Set up a recorded machine (tests/fakes/machines/*.yaml, tests/real_cases/*.yaml) behind
advisor's real probes: a fake `pynvml`, a /proc /sys /dev /etc tree, and a fake torch with real
site-packages metadata in the target Python. The format is in tests/real_cases/README.md."""

from __future__ import annotations

import json
import os
import shutil
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
REAL_CASES = Path(__file__).resolve().parent / "real_cases"
TORCH_SITE = FAKES / "torch_site"


def machine_names(folder: Path = MACHINES) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_machine(name: str, folder: Path = MACHINES) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / f"{name}.yaml").read_text())
    return data


def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _a_shared_library() -> Path:
    """A real ELF shared object to stand in for a CUDA library: dlopen maps it for real."""
    import importlib

    for name in ("_json", "_bisect", "_random", "math", "_struct"):
        where = getattr(importlib.import_module(name), "__file__", None) or ""
        if where.endswith(".so"):
            return Path(where)
    raise RuntimeError("no extension module of this Python to copy as a shared library")


def build_root(root: Path, host: dict[str, Any]) -> Path:
    """A /proc, /sys, /dev tree holding what the host probe reads on such a machine."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/os-release").write_text('PRETTY_NAME="Ubuntu 22.04.4 LTS"\n')
    (root / "proc").mkdir()
    (root / "proc/meminfo").write_text("MemTotal:       263855696 kB\n")
    (root / "proc/cpuinfo").write_text(
        "".join(f"processor\t: {i}\nmodel name\t: AMD EPYC 7742 64-Core Processor\n\n" for i in range(8))
    )
    (root / "proc/version").write_text(
        host.get("proc_version", "Linux version 5.15.0-105-generic (buildd@lcy02)") + "\n"
    )
    devices = root / "sys/bus/pci/devices"
    devices.mkdir(parents=True)
    for pci in host.get("pci", []):
        dev = devices / pci["address"]
        dev.mkdir()
        (dev / "vendor").write_text("0x10de\n")
        (dev / "device").write_text(str(pci["device"]).lower() + "\n")
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
    files = host.get("files", [])
    for path, content in files.items() if isinstance(files, dict) else ((f, "") for f in files):
        target = _under(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    if host.get("dockerenv"):
        (root / ".dockerenv").write_text("")
    if "secure_boot" in host:  # the EFI variable mokutil --sb-state reads: 4 attribute bytes, then 0/1
        var = root / "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
        var.parent.mkdir(parents=True)
        var.write_bytes(b"\x06\x00\x00\x00" + (b"\x01" if host["secure_boot"] else b"\x00"))
    # Reads that fail: as root, permissions do not stop a read, so a directory stands where a file
    # is read (IsADirectoryError) and a file where a directory is listed (NotADirectoryError).
    for path in host.get("unreadable", []):
        target = _under(root, path)
        if target.is_dir():
            shutil.rmtree(target)
            target.write_text("")
        else:
            target.unlink(missing_ok=True)
            target.mkdir(parents=True)
    return root


def _dist_info(site: Path, name: str, version: str, requires: list[str] | None = None) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires or []]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "INSTALLER").write_text("pip\n")


def _site_packages(machine: dict[str, Any], tmp_path: Path) -> list[Path]:
    """Real .dist-info metadata for torch and its nvidia-* wheels, as pip writes it."""
    wheels = machine.get("wheels")
    torch = machine.get("torch", {})
    if not wheels or torch.get("missing"):
        return []
    site = tmp_path / "venv/lib/python3/site-packages"
    second = tmp_path / "venv/lib64/python3/site-packages" if wheels.get("site") == "lib64" else site
    _dist_info(site, "torch", str(torch.get("version", "2.0.0")), wheels.get("torch_requires", []))
    for name, version in (wheels.get("installed") or {}).items():
        if version is not None:
            _dist_info(second, name, str(version))
    return list(dict.fromkeys([site, second]))


def install_machine(machine: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    """Point the NVML, host and target-Python probes at the recorded machine."""
    fake = FakeNvml(machine.get("nvml", {"init_error": "LibraryNotFound"}))
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    root = build_root(tmp_path / "root", machine.get("host", {}))
    monkeypatch.setattr(collect, "HOST_ROOT", root)
    for key in (*ENVIRONMENT_KEYS, "ADVISOR_PYTHON"):
        monkeypatch.delenv(key, raising=False)
    for key, value in machine.get("env", {}).items():
        monkeypatch.setenv(key, value)
    # The worker runs in this interpreter (with the fake torch on its path), and reads the
    # machine's files (LD_LIBRARY_PATH folders) under the same root as the host probe.
    monkeypatch.setenv("ADVISOR_PYTHON", sys.executable)
    monkeypatch.setenv("ADVISOR_TARGET_ROOT", str(root))
    # The CUDA toolkit the worker finds, under the machine's root: none, unless the machine
    # declares one (toolchain: {nvcc: "12.1", ninja: true}), so this machine's own nvcc stays out.
    tools = machine.get("toolchain", {})
    if tools.get("nvcc"):
        script = root / "usr/local/cuda/bin/nvcc"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(
            "#!/bin/sh\necho 'nvcc: NVIDIA (R) Cuda compiler driver'\n"
            f"echo 'Cuda compilation tools, release {tools['nvcc']}, V{tools['nvcc']}.105'\n"
        )
        script.chmod(0o755)
    if tools.get("ninja"):
        ninja = root / "usr/bin/ninja"
        ninja.parent.mkdir(parents=True, exist_ok=True)
        ninja.write_text("#!/bin/sh\necho 1.11.1\n")
        ninja.chmod(0o755)
    torch = dict(machine.get("torch", {"missing": True}))
    if torch.get("loads"):
        library = _a_shared_library()
        loads = []
        for path in torch["loads"]:
            copy = _under(root, path)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(library, copy)
            loads.append(str(copy))
        torch["loads"] = loads
    config = tmp_path / "torch.json"
    config.write_text(json.dumps(torch))
    monkeypatch.setenv("ADVISOR_FAKE_TORCH", str(config))
    sites = [str(s) for s in _site_packages(machine, tmp_path)]
    path = os.pathsep.join([str(TORCH_SITE), *sites, os.environ.get("PYTHONPATH", "")])
    monkeypatch.setenv("PYTHONPATH", path.rstrip(os.pathsep))
    return fake
