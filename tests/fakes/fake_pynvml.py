"""A fake `pynvml` module for tests, driven by a recorded machine description.

It has the real module's function names, return types (the real ctypes structs and
nvmlFriendlyObject) and error classes (the real `pynvml.NVMLError_*`, imported from nvidia-ml-py),
so the probe cannot tell it from the real one. A machine is a dict (tests/fakes/machines/*.yaml):

    init_error: LibraryNotFound | DriverNotLoaded | LibRmVersionMismatch   (optional)
    driver: "550.54.14"
    cuda_driver_version: 12040
    errors: {nvmlSystemGetCudaDriverVersion_v2: FunctionNotFound}          (system calls)
    gpus:
      - name: ...                       one entry per GPU; see DEFAULT_GPU for every key
        lost: true                      nvmlDeviceGetHandleByIndex raises GpuIsLost
        handle_error: Unknown           nvmlDeviceGetHandleByIndex raises that error instead
        errors: {nvmlDeviceGetEccMode: NotSupported, "*": GpuIsLost}       per call, or all calls
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from typing import Any

import pynvml as real

DEFAULT_GPU: dict[str, Any] = {
    "name": "NVIDIA GeForce RTX 3090",
    "uuid": "GPU-00000000-0000-0000-0000-000000000000",
    "brand": 5,  # NVML_BRAND_GEFORCE
    "bus_id": "00000000:01:00.0",
    "pci_device_id": 0x2204,
    "memory_total": 25769803776,  # 24576 MiB
    "memory_used": 0,
    "cc": [8, 6],
    "arch": 7,  # NVML_DEVICE_ARCH_AMPERE
    "pcie": [4, 4, 16, 16],  # gen, gen max, width, width max
    "power_mw": 25000,
    "power_limit_mw": 350000,
    "temperature": 35,
    "clocks": [210, 2100],  # SM MHz now, SM MHz max
    "clock_events": 0x1,  # GpuIdle
    "utilization": 0,
    "ecc": None,  # [current, pending]; None = NotSupported (GeForce)
    "ecc_uncorrected": [0, 0],  # volatile, aggregate
    "retired_pending": None,  # None = NotSupported
    "remapped": None,  # [corr, unc, pending, failure]; None = NotSupported
    "mig": None,  # [current, pending]; None = NotSupported
    "persistence": 0,
    "compute_mode": 0,
    "processes": [],  # [{pid, used, name}]
    "nvlink": None,  # list of link states; None = NotSupported
    "errors": {},
}


def error(name: str) -> Exception:
    cls: type[Exception] = getattr(real, f"NVMLError_{name}")
    return cls()


class FakeNvml:
    def __init__(self, machine: dict[str, Any]) -> None:
        self.machine = machine
        self.gpus = [{**copy.deepcopy(DEFAULT_GPU), **g} for g in machine.get("gpus", [])]
        self.initialised = 0
        self.calls: list[str] = []

    # -- building the module -------------------------------------------------------------------

    def module(self) -> types.ModuleType:
        mod = types.ModuleType("pynvml")
        for key in dir(real):
            if key.startswith(("NVML_", "NVMLError", "nvmlClocks", "c_nvml", "nvmlFriendly")):
                setattr(mod, key, getattr(real, key))
        mod.nvmlPciInfo_t = real.nvmlPciInfo_t
        for key in dir(self):
            if key.startswith("nvml"):
                setattr(mod, key, self._wrap(key, getattr(self, key)))
        return mod

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.calls.append(name)
            if name not in ("nvmlInit", "nvmlShutdown") and not self.initialised:
                raise error("Uninitialized")
            system_error = self.machine.get("errors", {}).get(name)
            if system_error:
                raise error(system_error)
            if args and isinstance(args[0], _Handle):
                gpu = self.gpus[args[0].index]
                failure = gpu["errors"].get(name) or gpu["errors"].get("*")
                if failure:
                    raise error(failure)
            return fn(*args)

        call.__name__ = name
        return call

    # -- system --------------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        if self.machine.get("init_error"):
            raise error(self.machine["init_error"])
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return str(self.machine["driver"])

    def nvmlSystemGetCudaDriverVersion(self) -> int:
        return int(self.machine["cuda_driver_version"])

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return int(self.machine["cuda_driver_version"])

    def nvmlSystemGetNVMLVersion(self) -> str:
        return "12." + str(self.machine["driver"])

    def nvmlSystemGetProcessName(self, pid: int) -> str:
        for gpu in self.gpus:
            for proc in gpu["processes"]:
                if proc["pid"] == pid:
                    return str(proc.get("name", "python"))
        raise error("NotFound")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        if index >= len(self.gpus):
            raise error("InvalidArgument")
        if self.gpus[index].get("lost"):
            raise error("GpuIsLost")
        if self.gpus[index].get("handle_error"):
            raise error(self.gpus[index]["handle_error"])
        return _Handle(index)

    def nvmlDeviceGetTopologyCommonAncestor(self, a: _Handle, b: _Handle) -> int:
        return int(self.machine.get("topology", 10))  # NVML_TOPOLOGY_SINGLE

    # -- per GPU -------------------------------------------------------------------------------

    def _g(self, h: _Handle) -> dict[str, Any]:
        return self.gpus[h.index]

    def _maybe(self, value: Any) -> Any:
        if value is None:
            raise error("NotSupported")
        return value

    def nvmlDeviceGetName(self, h: _Handle) -> str:
        return str(self._g(h)["name"])

    def nvmlDeviceGetUUID(self, h: _Handle) -> str:
        return str(self._g(h)["uuid"])

    def nvmlDeviceGetBrand(self, h: _Handle) -> int:
        return int(self._g(h)["brand"])

    def nvmlDeviceGetPciInfo(self, h: _Handle) -> Any:
        g = self._g(h)
        info = real.nvmlPciInfo_t()
        info.busId = g["bus_id"].encode()
        info.pciDeviceId = (int(g["pci_device_id"]) << 16) | 0x10DE
        return info

    def nvmlDeviceGetMemoryInfo(self, h: _Handle) -> Any:
        g = self._g(h)
        total, used = int(g["memory_total"]), int(g["memory_used"])
        return real.c_nvmlMemory_t(total=total, free=total - used, used=used)

    def nvmlDeviceGetCudaComputeCapability(self, h: _Handle) -> tuple[int, int]:
        major, minor = self._g(h)["cc"]
        return int(major), int(minor)

    def nvmlDeviceGetArchitecture(self, h: _Handle) -> int:
        return int(self._g(h)["arch"])

    def nvmlDeviceGetCurrPcieLinkGeneration(self, h: _Handle) -> int:
        return int(self._g(h)["pcie"][0])

    def nvmlDeviceGetGpuMaxPcieLinkGeneration(self, h: _Handle) -> int:
        return int(self._g(h)["pcie"][1])

    def nvmlDeviceGetMaxPcieLinkGeneration(self, h: _Handle) -> int:
        return int(self._g(h)["pcie"][1])

    def nvmlDeviceGetCurrPcieLinkWidth(self, h: _Handle) -> int:
        return int(self._g(h)["pcie"][2])

    def nvmlDeviceGetMaxPcieLinkWidth(self, h: _Handle) -> int:
        return int(self._g(h)["pcie"][3])

    def nvmlDeviceGetPowerUsage(self, h: _Handle) -> int:
        return int(self._maybe(self._g(h)["power_mw"]))

    def nvmlDeviceGetEnforcedPowerLimit(self, h: _Handle) -> int:
        return int(self._maybe(self._g(h)["power_limit_mw"]))

    def nvmlDeviceGetTemperature(self, h: _Handle, sensor: int) -> int:
        return int(self._g(h)["temperature"])

    def nvmlDeviceGetClockInfo(self, h: _Handle, kind: int) -> int:
        return int(self._g(h)["clocks"][0])

    def nvmlDeviceGetMaxClockInfo(self, h: _Handle, kind: int) -> int:
        return int(self._g(h)["clocks"][1])

    def nvmlDeviceGetCurrentClocksEventReasons(self, h: _Handle) -> int:
        return int(self._g(h)["clock_events"])

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h: _Handle) -> int:
        return int(self._g(h)["clock_events"])

    def nvmlDeviceGetUtilizationRates(self, h: _Handle) -> Any:
        return real.c_nvmlUtilization_t(gpu=int(self._g(h)["utilization"]), memory=0)

    def nvmlDeviceGetEccMode(self, h: _Handle) -> list[int]:
        return list(self._maybe(self._g(h)["ecc"]))

    def nvmlDeviceGetTotalEccErrors(self, h: _Handle, kind: int, counter: int) -> int:
        self._maybe(self._g(h)["ecc"])
        return int(self._g(h)["ecc_uncorrected"][counter])

    def nvmlDeviceGetRetiredPagesPendingStatus(self, h: _Handle) -> int:
        return int(self._maybe(self._g(h)["retired_pending"]))

    def nvmlDeviceGetRemappedRows(self, h: _Handle) -> tuple[int, int, int, int]:
        c, u, p, f = self._maybe(self._g(h)["remapped"])
        return int(c), int(u), int(p), int(f)

    def nvmlDeviceGetMigMode(self, h: _Handle) -> list[int]:
        return list(self._maybe(self._g(h)["mig"]))

    def nvmlDeviceGetPersistenceMode(self, h: _Handle) -> int:
        return int(self._g(h)["persistence"])

    def nvmlDeviceGetComputeMode(self, h: _Handle) -> int:
        return int(self._g(h)["compute_mode"])

    def nvmlDeviceGetComputeRunningProcesses(self, h: _Handle) -> list[Any]:
        return [
            real.nvmlFriendlyObject(
                {
                    "pid": p["pid"],
                    "usedGpuMemory": p.get("used"),
                    "gpuInstanceId": 0xFFFFFFFF,
                    "computeInstanceId": 0xFFFFFFFF,
                }
            )
            for p in self._g(h)["processes"]
        ]

    def nvmlDeviceGetNvLinkState(self, h: _Handle, link: int) -> int:
        links = self._g(h)["nvlink"]
        if links is None:
            raise error("NotSupported")
        if link >= len(links):
            raise error("InvalidArgument")
        return int(links[link])


class _Handle:
    """Stands in for the real opaque c_nvmlDevice_t pointer."""

    def __init__(self, index: int) -> None:
        self.index = index
