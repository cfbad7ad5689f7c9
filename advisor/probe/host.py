"""The host: OS, CPU, memory, the NVIDIA devices on the PCI bus, the environment CUDA reads.

Everything is read from files under ``root`` (``/`` on a real machine), so tests feed recorded
``/proc`` and ``/sys`` trees without depending on the machine they run on.
"""

from __future__ import annotations

import os
import platform
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advisor.snapshot import Host, PciGpu, Reading, have, missing

NVIDIA_VENDOR = "0x10de"
# Variables that change which GPUs and libraries CUDA and the frameworks use.
ENVIRONMENT_KEYS = (
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_DEVICE_ORDER",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "PYTORCH_CUDA_ALLOC_CONF",
    "TORCH_CUDA_ARCH_LIST",
    "CUDA_LAUNCH_BLOCKING",
    "CUDA_MODULE_LOADING",
    "NCCL_P2P_DISABLE",
    "NCCL_IB_DISABLE",
    "NCCL_SOCKET_IFNAME",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "CONDA_PREFIX",
    "VIRTUAL_ENV",
)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _failed(exc: OSError, path: Path) -> Reading[Any]:
    """Why a path could not be read, kept: not_found (absent), no_permission, or error."""
    if isinstance(exc, FileNotFoundError):
        return missing("not_found", str(path))
    if isinstance(exc, PermissionError):
        return missing("no_permission", f"{path}: {exc.strerror}")
    return missing("error", f"{path}: {exc.strerror or exc}")


def _read_reading(path: Path) -> Reading[str]:
    try:
        return have(path.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return _failed(exc, path)


def probe_host(root: Path = Path("/"), environ: Mapping[str, str] | None = None) -> Host:
    env = os.environ if environ is None else environ
    is_live = root == Path("/")
    return Host(
        hostname=socket.gethostname() if is_live else None,
        os=os_name(root) or (platform.platform() if is_live else None),
        kernel=platform.release() if is_live else None,
        machine=platform.machine() if is_live else None,
        cpu_model=cpu_model(root) or (platform.processor() or None if is_live else None),
        cpu_cores=os.cpu_count() if is_live else cpu_count(root),
        memory_total_bytes=memory_total_bytes(root),
        python=platform.python_version() if is_live else None,
        pci_gpus=pci_nvidia_devices(root),
        kernel_module_version=kernel_module_version(root),
        loaded_modules=loaded_modules(root),
        nvml_libraries=library_files(root, "libnvidia-ml.so."),
        compat_libraries=compat_libraries(root, env),
        device_nodes=device_nodes(root),
        secure_boot=secure_boot(root),
        tegra_release=tegra_release(root),
        environment={k: env[k] for k in ENVIRONMENT_KEYS if k in env},
        container=container_kind(root, env),
        wsl=wsl_kind(root),
    )


def os_name(root: Path) -> str | None:
    text = _read(root / "etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def cpu_model(root: Path) -> str | None:
    for line in (_read(root / "proc/cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return None


def cpu_count(root: Path) -> int | None:
    n = sum(1 for line in (_read(root / "proc/cpuinfo") or "").splitlines() if line.startswith("processor"))
    return n or None


def memory_total_bytes(root: Path) -> int | None:
    for line in (_read(root / "proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) >= 2 and parts[1].isdigit() else None
    return None


def pci_nvidia_devices(root: Path) -> Reading[list[PciGpu]]:
    """NVIDIA display (class 0x03xxxx) devices in sysfs; unavailable when sysfs cannot be read."""
    base = root / "sys/bus/pci/devices"
    try:
        entries = sorted(base.iterdir())
    except OSError as exc:
        return _failed(exc, base)
    found = []
    for dev in entries:
        vendor = (_read(dev / "vendor") or "").strip().lower()
        klass = (_read(dev / "class") or "").strip().lower()
        if vendor != NVIDIA_VENDOR or not klass.startswith("0x03"):
            continue
        device = (_read(dev / "device") or "").strip()
        driver_link = dev / "driver"
        driver = os.path.basename(os.readlink(driver_link)) if driver_link.is_symlink() else None
        found.append(PciGpu(address=dev.name, device_id="0x" + device[2:].upper(), driver=driver))
    return have(found)


def kernel_module_version(root: Path) -> Reading[str]:
    """The loaded kernel module's version line: 'NVRM version: NVIDIA UNIX ... 550.54.14 ...'.

    not_found: no NVIDIA kernel module is loaded (the file exists only while it is).
    """
    text = _read_reading(root / "proc/driver/nvidia/version")
    if not text.ok or not (text.value or "").strip():
        return text if not text.ok else missing("not_found", "empty version file")
    return have((text.value or "").splitlines()[0].strip())


LIBRARY_DIRS = (
    "usr/lib/x86_64-linux-gnu",
    "usr/lib64",
    "usr/lib",
    "usr/lib/aarch64-linux-gnu",
    "usr/lib/wsl/lib",
)


def loaded_modules(root: Path) -> Reading[list[str]]:
    text = _read_reading(root / "proc/modules")
    if not text.ok:
        return missing(text.unavailable or "error", text.detail)
    names = [line.split()[0] for line in (text.value or "").splitlines() if line.strip()]
    return have(sorted(n for n in names if n.startswith(("nvidia", "nouveau"))))


def library_files(root: Path, prefix: str) -> list[str]:
    """Versioned driver libraries (libnvidia-ml.so.550.54.14), not the .so.1 symlinks."""
    found = []
    for folder in LIBRARY_DIRS:
        try:
            found += [
                str(Path("/") / folder / p.name)
                for p in (root / folder).glob(prefix + "*")
                if re.fullmatch(r"\d+\.\d+(\.\d+)?", p.name[len(prefix) :])
            ]
        except OSError:
            continue
    return sorted(set(found))


def compat_libraries(root: Path, env: Mapping[str, str]) -> list[str]:
    """CUDA forward-compatibility libcuda (cuda-compat packages, NGC images): where it would load."""
    dirs = {"usr/local/cuda/compat"} | {
        str(p.relative_to(root)) for p in (root / "usr/local").glob("cuda-*/compat")
    }
    dirs |= {d.lstrip("/") for d in env.get("LD_LIBRARY_PATH", "").split(":") if "compat" in d}
    out = []
    for d in sorted(dirs):
        folder = root / d
        if folder.is_dir() and any(folder.glob("libcuda.so*")):
            out.append("/" + d)
    return out


def device_nodes(root: Path) -> Reading[list[str]]:
    """/dev/nvidia*: an unreadable /dev is unknown, not "no device nodes"."""
    folder = root / "dev"
    try:
        names = [entry.name for entry in os.scandir(folder)]
    except OSError as exc:
        return _failed(exc, folder)
    return have(sorted(n for n in names if n.startswith("nvidia")))


# The EFI global-variable GUID: SecureBoot-<guid> holds 4 attribute bytes, then 1 = enabled.
_SECURE_BOOT = "sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"


def secure_boot(root: Path) -> Reading[bool]:
    """Whether UEFI Secure Boot is on (what `mokutil --sb-state` reports); not_found on BIOS boot."""
    path = root / _SECURE_BOOT
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _failed(exc, path)
    if len(data) < 5:
        return missing("error", f"{path}: {len(data)} bytes")
    return have(data[4] == 1)


def tegra_release(root: Path) -> str | None:
    """First line of /etc/nv_tegra_release, which L4T (Jetson) images carry."""
    text = _read(root / "etc/nv_tegra_release")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else None


def container_kind(root: Path, env: Mapping[str, str]) -> str | None:
    if (root / ".dockerenv").exists():
        return "docker"
    if (root / "run/.containerenv").exists():
        return "podman"
    if "KUBERNETES_SERVICE_HOST" in env:
        return "kubernetes"
    cgroup = _read(root / "proc/1/cgroup") or ""
    for marker in ("docker", "kubepods", "containerd", "lxc"):
        if marker in cgroup:
            return marker
    return None


def wsl_kind(root: Path) -> str | None:
    text = (_read(root / "proc/version") or "").lower()
    if "microsoft" not in text:
        return None
    return "wsl2" if "wsl2" in text or "microsoft-standard" in text else "wsl1"
