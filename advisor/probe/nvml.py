"""NVML, through `pynvml` (the nvidia-ml-py package). The only module that imports it.

Every call goes through `_Guard.read`, which turns an NVMLError into a `Reading` that keeps the
reason (not_supported, function_not_found, gpu_is_lost, ...). Initialisation failures are recorded
in the snapshot. Nothing here raises into the rules; `nvmlShutdown` always runs.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any, TypeVar

from advisor.snapshot import (
    Gpu,
    GpuPair,
    GpuProcess,
    NvmlInitError,
    NvmlSnapshot,
    Reading,
    RemappedRows,
    Unavailable,
    have,
    missing,
)

T = TypeVar("T")

# NVML error class name -> the reason kept in the snapshot.
_REASONS: dict[str, Unavailable] = {
    "NVMLError_NotSupported": "not_supported",
    "NVMLError_FunctionNotFound": "function_not_found",
    "NVMLError_NoPermission": "no_permission",
    "NVMLError_GpuIsLost": "gpu_is_lost",
    "NVMLError_NotFound": "not_found",
    "NVMLError_Deprecated": "deprecated",
}
_INIT_ERRORS: dict[str, NvmlInitError] = {
    "NVMLError_LibraryNotFound": "library_not_found",
    "NVMLError_DriverNotLoaded": "driver_not_loaded",
    "NVMLError_LibRmVersionMismatch": "lib_rm_version_mismatch",
    "NVMLError_NoPermission": "no_permission",
}
# nvmlDeviceGetArchitecture values (nvml.h NVML_DEVICE_ARCH_*).
_ARCHITECTURES = {
    2: "kepler",
    3: "maxwell",
    4: "pascal",
    5: "volta",
    6: "turing",
    7: "ampere",
    8: "ada",
    9: "hopper",
    10: "blackwell",
    13: "rubin",
}
# nvmlClocksEventReason* bits (nvml.h); the same bits as the older ClocksThrottleReason names.
CLOCK_EVENT_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
# nvmlDeviceGetTopologyCommonAncestor levels, with the nvidia-smi topo -m legend.
_TOPOLOGY = {
    0: "internal (same board)",
    10: "PIX (single PCIe switch)",
    20: "PXB (multiple PCIe switches)",
    30: "PHB (PCIe host bridge)",
    40: "NODE (same NUMA node)",
    50: "SYS (across CPU sockets)",
}
_COMPUTE_MODES = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}
_BRANDS = {
    1: "quadro",
    2: "tesla",
    3: "nvs",
    5: "geforce",
    6: "titan",
    12: "quadro_rtx",
    13: "nvidia_rtx",
    14: "nvidia",
    15: "geforce_rtx",
    16: "titan_rtx",
}


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class _Guard:
    """Calls into pynvml, turning every failure into a reason."""

    def __init__(self, nv: ModuleType) -> None:
        self.nv = nv
        self.paths: dict[str, str] = {}

    def reason(self, exc: BaseException) -> tuple[Unavailable, str]:
        for cls in type(exc).__mro__:
            if cls.__name__ in _REASONS:
                return _REASONS[cls.__name__], str(exc)
        return "error", f"{type(exc).__name__}: {exc}"

    def read(self, call: Callable[[], T]) -> Reading[T]:
        try:
            return have(call())
        # pynvml raises NVMLError subclasses; a broken struct layout on some driver/binding pairs
        # raises plain Python errors instead (gpustat #160 OverflowError), so catch those too.
        except Exception as exc:
            reason, detail = self.reason(exc)
            return missing(reason, detail)

    def derive(self, source: Reading[Any], convert: Callable[[Any], T]) -> Reading[T]:
        """A reading computed from another: the same reason when that one is unavailable."""
        if not source.ok:
            return Reading[T](unavailable=source.unavailable, detail=source.detail)
        return self.read(lambda: convert(source.value))

    def first(self, key: str, names: tuple[str, ...], *args: Any) -> Reading[Any]:
        """Try API variants newest first (renamed or versioned calls); record which answered."""
        last: Reading[Any] = missing("function_not_found", "no variant in this pynvml")
        for name in names:
            fn = getattr(self.nv, name, None)
            if fn is None:
                continue
            last = self.read(partial(fn, *args))
            if last.ok or last.unavailable not in ("function_not_found", "deprecated"):
                self.paths[key] = name
                return last
        return last


def probe_nvml() -> NvmlSnapshot:
    """Everything NVML says about this machine; failures are recorded, never raised."""
    try:
        nv = importlib.import_module("pynvml")
    except Exception as exc:  # a broken install must still give a report
        return NvmlSnapshot(init_error="module_missing", init_detail=f"import pynvml: {exc}")
    try:
        nv.nvmlInit()
    except Exception as exc:
        kind = next(
            (_INIT_ERRORS[c.__name__] for c in type(exc).__mro__ if c.__name__ in _INIT_ERRORS),
            "unknown",
        )
        return NvmlSnapshot(init_error=kind, init_detail=f"{type(exc).__name__}: {exc}")
    try:
        return _probe_initialised(_Guard(nv))
    finally:
        with contextlib.suppress(Exception):  # nothing to do if shutdown fails after a probe
            nv.nvmlShutdown()


def _probe_initialised(g: _Guard) -> NvmlSnapshot:
    nv = g.nv
    driver = g.read(lambda: _text(nv.nvmlSystemGetDriverVersion()))
    cuda = g.first(
        "cuda_driver_version",
        ("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"),
    )
    nvml_version = g.read(lambda: _text(nv.nvmlSystemGetNVMLVersion()))
    count = g.read(lambda: int(nv.nvmlDeviceGetCount()))
    gpus: list[Gpu] = []
    handles: dict[int, Any] = {}
    for index in range(count.value or 0):
        handle: Reading[Any] = g.read(partial(nv.nvmlDeviceGetHandleByIndex, index))
        if not handle.ok:
            lost = handle.unavailable == "gpu_is_lost"
            gpus.append(Gpu(index=index, status="lost" if lost else "error", status_detail=handle.why()))
            continue
        gpu = _probe_gpu(g, index, handle.value)
        gpus.append(gpu)
        if gpu.status == "ok":
            handles[index] = handle.value

    def topology(a: int, b: int) -> str:
        level = int(nv.nvmlDeviceGetTopologyCommonAncestor(handles[a], handles[b]))
        return _TOPOLOGY.get(level, "unknown")

    pairs = [
        GpuPair(a=a, b=b, topology=g.read(partial(topology, a, b))) for a in handles for b in handles if a < b
    ]
    return NvmlSnapshot(
        driver_version=driver,
        cuda_driver_version=cuda,
        nvml_version=nvml_version,
        device_count=count,
        gpus=gpus,
        pairs=pairs,
        api_paths=g.paths,
    )


def _probe_gpu(g: _Guard, index: int, h: Any) -> Gpu:
    nv = g.nv
    fields: dict[str, Reading[Any]] = {}

    def put(name: str, call: Callable[[], Any]) -> Reading[Any]:
        fields[name] = g.read(call)
        return fields[name]

    name = put("name", lambda: _text(nv.nvmlDeviceGetName(h)))
    if name.unavailable == "gpu_is_lost":
        return Gpu(index=index, status="lost", status_detail=name.why(), name=name)
    put("uuid", lambda: _text(nv.nvmlDeviceGetUUID(h)))
    put("brand", lambda: _BRANDS.get(int(nv.nvmlDeviceGetBrand(h)), "other"))
    pci: Reading[Any] = g.read(lambda: nv.nvmlDeviceGetPciInfo(h))
    # pciDeviceId packs (device << 16) | vendor, e.g. 0x220410DE for an RTX 3090.
    fields["pci_bus_id"] = g.derive(pci, lambda info: _text(info.busId))
    fields["pci_device_id"] = g.derive(pci, lambda info: f"0x{(int(info.pciDeviceId) >> 16) & 0xFFFF:04X}")
    memory: Reading[Any] = g.read(lambda: nv.nvmlDeviceGetMemoryInfo(h))
    fields["memory_total_bytes"] = g.derive(memory, lambda m: int(m.total))
    fields["memory_used_bytes"] = g.derive(memory, lambda m: int(m.used))
    fields["memory_free_bytes"] = g.derive(memory, lambda m: int(m.free))
    put("compute_capability", lambda: "{}.{}".format(*nv.nvmlDeviceGetCudaComputeCapability(h)))
    put("architecture", lambda: _ARCHITECTURES.get(int(nv.nvmlDeviceGetArchitecture(h)), "unknown"))
    put("pcie_gen_current", lambda: int(nv.nvmlDeviceGetCurrPcieLinkGeneration(h)))
    fields["pcie_gen_max"] = g.first(
        "pcie_gen_max",
        ("nvmlDeviceGetGpuMaxPcieLinkGeneration", "nvmlDeviceGetMaxPcieLinkGeneration"),
        h,
    )
    put("pcie_width_current", lambda: int(nv.nvmlDeviceGetCurrPcieLinkWidth(h)))
    put("pcie_width_max", lambda: int(nv.nvmlDeviceGetMaxPcieLinkWidth(h)))
    put("power_draw_w", lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0)
    put("power_limit_w", lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0)
    put("temperature_c", lambda: int(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)))
    put("clock_sm_mhz", lambda: int(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM)))
    put("clock_sm_max_mhz", lambda: int(nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM)))
    events: Reading[Any] = g.first(
        "clock_event_reasons",
        ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"),
        h,
    )
    fields["clock_event_reasons"] = g.derive(
        events, lambda bits: [label for bit, label in CLOCK_EVENT_BITS.items() if int(bits) & bit]
    )
    put("utilization_gpu_pct", lambda: int(nv.nvmlDeviceGetUtilizationRates(h).gpu))
    put("ecc_mode", lambda: bool(nv.nvmlDeviceGetEccMode(h)[0]))

    def uncorrected(counter: int) -> int:
        kind = nv.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
        return int(nv.nvmlDeviceGetTotalEccErrors(h, kind, counter))

    put("ecc_uncorrected_volatile", partial(uncorrected, nv.NVML_VOLATILE_ECC))
    put("ecc_uncorrected_aggregate", partial(uncorrected, nv.NVML_AGGREGATE_ECC))
    put("retired_pages_pending", lambda: bool(nv.nvmlDeviceGetRetiredPagesPendingStatus(h)))
    put(
        "remapped_rows",
        lambda: RemappedRows(
            **dict(
                zip(
                    ("correctable", "uncorrectable", "pending", "failure"),
                    nv.nvmlDeviceGetRemappedRows(h),
                    strict=True,
                )
            )
        ),
    )
    put("mig_mode", lambda: bool(nv.nvmlDeviceGetMigMode(h)[0]))
    put("persistence_mode", lambda: bool(nv.nvmlDeviceGetPersistenceMode(h)))
    put("compute_mode", lambda: _COMPUTE_MODES.get(int(nv.nvmlDeviceGetComputeMode(h)), "unknown"))
    fields["processes"] = _processes(g, h)
    fields["nvlink_links_up"] = _nvlink_links_up(g, h)
    lost = [k for k, r in fields.items() if r.unavailable == "gpu_is_lost"]
    return Gpu(
        index=index,
        status="lost" if lost else "ok",
        status_detail=f"GPU is lost (first seen reading {lost[0]})" if lost else None,
        **fields,
    )


def _processes(g: _Guard, h: Any) -> Reading[list[GpuProcess]]:
    nv = g.nv
    listed = g.first(
        "processes",
        ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses_v2"),
        h,
    )
    if not listed.ok:
        return listed
    out = []
    for proc in listed.value or []:  # pynvml process structs: .pid, .usedGpuMemory
        pid = int(proc.pid)
        name: Reading[str] = g.read(partial(_process_name, nv, pid))
        used = getattr(proc, "usedGpuMemory", None)
        out.append(
            GpuProcess(pid=pid, name=name.value, used_memory_bytes=int(used) if used is not None else None)
        )
    return have(out)


def _process_name(nv: ModuleType, pid: int) -> str:
    return _text(nv.nvmlSystemGetProcessName(pid))


def _nvlink_links_up(g: _Guard, h: Any) -> Reading[int]:
    nv = g.nv
    up = 0
    for link in range(int(getattr(nv, "NVML_NVLINK_MAX_LINKS", 18))):
        state: Reading[Any] = g.read(partial(nv.nvmlDeviceGetNvLinkState, h, link))
        if not state.ok:
            # Boards without NVLink answer NotSupported (or InvalidArgument) on link 0;
            # past the last link of a board with NVLink the same errors mean "no more links".
            return state if link == 0 else have(up)
        up += 1 if state.value else 0
    return have(up)
