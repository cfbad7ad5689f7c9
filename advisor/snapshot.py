"""Everything the probe saw, as plain frozen data. The contract between probe and reasoning.

A snapshot holds values, never handles: it can be written to JSON (`advisor probe --json`),
read back anywhere (`advisor check --snapshot FILE`) and built directly in tests.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SNAPSHOT_SCHEMA_VERSION = 2  # 2: host reads are Readings; the target says how it was chosen

T = TypeVar("T")

# Why a reading has no value. Kept distinct so a rule can tell "no" from "could not ask".
Unavailable = Literal[
    "not_supported",  # NVML_ERROR_NOT_SUPPORTED: this board or driver does not offer it
    "function_not_found",  # NVML_ERROR_FUNCTION_NOT_FOUND: driver older than the call
    "no_permission",  # NVML_ERROR_NO_PERMISSION
    "gpu_is_lost",  # NVML_ERROR_GPU_IS_LOST: fell off the bus mid-probe
    "not_found",  # NVML_ERROR_NOT_FOUND
    "deprecated",  # NVML_ERROR_DEPRECATED: removed from this driver's NVML
    "not_probed",  # advisor did not ask (e.g. snapshot from an older advisor)
    "error",  # any other NVML error; `detail` says which
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reading(Frozen, Generic[T]):
    """A value, or the reason there is none. Never a sentinel like 0 or ""."""

    value: T | None = None
    unavailable: Unavailable | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.unavailable is None

    def why(self) -> str:
        return f"{self.unavailable}" + (f" ({self.detail})" if self.detail else "")


def _unprobed() -> Any:
    """Default for a reading nobody asked for: explicit, so it never looks like a value."""
    return Field(default_factory=lambda: Reading(unavailable="not_probed"))


def have(value: T) -> Reading[T]:
    return Reading[T](value=value)


def missing(reason: Unavailable, detail: str | None = None) -> Reading[T]:
    return Reading[T](unavailable=reason, detail=detail)


# --- NVML -------------------------------------------------------------------------------------

NvmlInitError = Literal[
    "module_missing",  # the pynvml module itself could not be imported
    "library_not_found",  # libnvidia-ml.so.1 absent: no driver installed (or not mounted)
    "driver_not_loaded",  # library present, kernel module not loaded
    "lib_rm_version_mismatch",  # user-space NVML and kernel module differ: reboot pending
    "no_permission",
    "unknown",
]


class GpuProcess(Frozen):
    pid: int
    name: str | None = None
    used_memory_bytes: int | None = Field(default=None, description="None: WDDM/container hides it")


class RemappedRows(Frozen):
    correctable: int
    uncorrectable: int
    pending: bool
    failure: bool


class Gpu(Frozen):
    """One GPU as NVML reports it. Field docs name the NVML call (nvidia-smi field)."""

    index: int
    status: Literal["ok", "lost", "error"] = "ok"
    status_detail: str | None = None
    name: Reading[str] = _unprobed()  # nvmlDeviceGetName (name)
    uuid: Reading[str] = _unprobed()  # nvmlDeviceGetUUID (uuid)
    brand: Reading[str] = _unprobed()  # nvmlDeviceGetBrand
    pci_bus_id: Reading[str] = _unprobed()  # nvmlDeviceGetPciInfo.busId (pci.bus_id)
    pci_device_id: Reading[str] = _unprobed()  # nvmlDeviceGetPciInfo.pciDeviceId, "0x2204"
    memory_total_bytes: Reading[int] = _unprobed()  # nvmlDeviceGetMemoryInfo (memory.total)
    memory_used_bytes: Reading[int] = _unprobed()  # (memory.used)
    memory_free_bytes: Reading[int] = _unprobed()  # (memory.free)
    compute_capability: Reading[str] = _unprobed()  # nvmlDeviceGetCudaComputeCapability
    architecture: Reading[str] = _unprobed()  # nvmlDeviceGetArchitecture
    pcie_gen_current: Reading[int] = _unprobed()  # nvmlDeviceGetCurrPcieLinkGeneration
    pcie_gen_max: Reading[int] = _unprobed()  # nvmlDeviceGetGpuMaxPcieLinkGeneration
    pcie_width_current: Reading[int] = _unprobed()  # nvmlDeviceGetCurrPcieLinkWidth
    pcie_width_max: Reading[int] = _unprobed()  # nvmlDeviceGetMaxPcieLinkWidth
    power_draw_w: Reading[float] = _unprobed()  # nvmlDeviceGetPowerUsage (power.draw)
    power_limit_w: Reading[float] = _unprobed()  # nvmlDeviceGetEnforcedPowerLimit
    temperature_c: Reading[int] = _unprobed()  # nvmlDeviceGetTemperature (temperature.gpu)
    clock_sm_mhz: Reading[int] = _unprobed()  # nvmlDeviceGetClockInfo(SM) (clocks.sm)
    clock_sm_max_mhz: Reading[int] = _unprobed()  # nvmlDeviceGetMaxClockInfo(SM)
    clock_event_reasons: Reading[list[str]] = _unprobed()  # ...ClocksEventReasons
    utilization_gpu_pct: Reading[int] = _unprobed()  # nvmlDeviceGetUtilizationRates.gpu
    ecc_mode: Reading[bool] = _unprobed()  # nvmlDeviceGetEccMode current (ecc.mode.current)
    ecc_uncorrected_volatile: Reading[int] = _unprobed()  # nvmlDeviceGetTotalEccErrors
    ecc_uncorrected_aggregate: Reading[int] = _unprobed()
    retired_pages_pending: Reading[bool] = _unprobed()  # nvmlDeviceGetRetiredPagesPendingStatus
    remapped_rows: Reading[RemappedRows] = _unprobed()  # nvmlDeviceGetRemappedRows
    mig_mode: Reading[bool] = _unprobed()  # nvmlDeviceGetMigMode current (mig.mode.current)
    persistence_mode: Reading[bool] = _unprobed()  # nvmlDeviceGetPersistenceMode
    compute_mode: Reading[str] = _unprobed()  # nvmlDeviceGetComputeMode (compute_mode)
    processes: Reading[list[GpuProcess]] = _unprobed()
    nvlink_links_up: Reading[int] = _unprobed()  # nvmlDeviceGetNvLinkState over all links

    @property
    def label(self) -> str:
        return f"GPU {self.index}" + (f" ({self.name.value})" if self.name.value else "")


class GpuPair(Frozen):
    a: int
    b: int
    topology: Reading[str]  # nvmlDeviceGetTopologyCommonAncestor (nvidia-smi topo -m)


class NvmlSnapshot(Frozen):
    init_error: NvmlInitError | None = None
    init_detail: str | None = None
    driver_version: Reading[str] = _unprobed()  # nvmlSystemGetDriverVersion
    cuda_driver_version: Reading[int] = _unprobed()  # nvmlSystemGetCudaDriverVersion(_v2)
    nvml_version: Reading[str] = _unprobed()  # nvmlSystemGetNVMLVersion
    device_count: Reading[int] = _unprobed()
    gpus: list[Gpu] = []
    pairs: list[GpuPair] = []
    api_paths: dict[str, str] = Field(
        default_factory=dict, description="which NVML variant answered, e.g. clock events"
    )

    @property
    def cuda_driver_version_text(self) -> str | None:
        v = self.cuda_driver_version.value
        return None if v is None else f"{v // 1000}.{(v % 1000) // 10}"


# --- target Python ----------------------------------------------------------------------------


class TorchDevice(Frozen):
    index: int
    name: str | None = None
    capability: str | None = None  # "8.6"
    total_memory_bytes: int | None = None
    kernel_ok: bool | None = None  # a tiny kernel ran and gave the right answer
    kernel_error: str | None = None


class TorchInfo(Frozen):
    version: str
    path: str | None = None
    cuda_version: str | None = None  # torch.version.cuda; None on CPU-only and ROCm builds
    hip_version: str | None = None
    cudnn_version: int | None = None  # torch.backends.cudnn.version()
    cudnn_error: str | None = None  # what cudnn.version() raised (a runtime cuDNN of another version)
    nccl_version: str | None = None
    arch_list: list[str] = []  # torch.cuda.get_arch_list(): "sm_80", "compute_90"
    cuda_available: bool = False
    device_count: int = 0
    devices: list[TorchDevice] = []
    init_error: str | None = None  # the exception or warning CUDA initialisation gave
    warnings: list[str] = []
    installer: str | None = None  # torch's .dist-info INSTALLER: "pip", "conda", "uv" ...


class FrameworkInfo(Frozen):
    """TensorFlow or JAX: version, the CUDA/cuDNN it was built for, the GPUs it sees."""

    version: str
    cuda_version: str | None = None
    cudnn_version: str | None = None
    gpu_count: int | None = None
    error: str | None = None


class LoadedLibrary(Frozen):
    library: str  # libcudart, libcudnn, libnvJitLink ...
    path: str


class LibraryCopies(Frozen):
    """Where the target finds a shared library an import error names: who would win the load."""

    library: str  # "libnvJitLink.so.12", from the import error
    on_ld_library_path: list[str] = []  # copies in $LD_LIBRARY_PATH directories, in search order
    in_wheels: list[str] = []  # copies in site-packages (nvidia/*/lib, torch/lib)


class PythonEnvironment(Frozen):
    """What the target interpreter loads and could build with."""

    libraries: list[LoadedLibrary] = []  # from the worker's /proc/self/maps after CUDA init
    wheels_required: list[str] = []  # torch's Requires-Dist on nvidia-* wheels
    wheels_installed: dict[str, str | None] = {}
    wheel_sites: dict[str, str] = Field(
        default_factory=dict, description="site-packages folder of torch and each nvidia-* wheel"
    )
    import_library: LibraryCopies | None = None  # the library a failed `import torch` named
    torch_dist: str | None = None  # torch's version from its metadata, when the import fails too
    nvcc: str | None = None
    nvcc_version: str | None = None  # "12.4"
    cuda_home: str | None = None
    ninja: bool = False
    packages: dict[str, str] = {}  # flash-attn, xformers, bitsandbytes, triton ... -> version


WorkerStatus = Literal["ok", "not_run", "not_found", "timeout", "crashed", "garbage", "failed"]


# How the interpreter to check was chosen, in the order advisor tries them.
ChosenBy = Literal[
    "--python",
    "$ADVISOR_PYTHON",
    "$VIRTUAL_ENV",
    "$CONDA_PREFIX",
    "python3 on PATH",
    "python on PATH",
    "advisor's own",
    "torchrun",  # advisor cluster: the interpreter the job runs in
]


class OtherPython(Frozen):
    """Another interpreter found on this machine, and whether it has torch (without importing it)."""

    executable: str
    found_by: str  # "$CONDA_PREFIX", "conda environments.txt", "python3 on PATH" ...
    torch_path: str | None = None  # the torch package folder in its site-packages; None: no torch
    torch_version: str | None = None  # from torch's .dist-info folder name


class TargetPython(Frozen):
    executable: str
    chosen_by: ChosenBy | None = None
    others: list[OtherPython] = []  # filled when the chosen one has no torch
    pid: int | None = Field(default=None, description="the worker's pid, to discount its GPU use")
    status: WorkerStatus
    detail: str | None = None
    stage: str | None = Field(default=None, description="last stage the worker reported")
    duration_s: float | None = None
    python_version: str | None = None
    conda_env: bool | None = None  # the interpreter's prefix is a conda environment (conda-meta/)
    torch: TorchInfo | None = None
    torch_import_error: str | None = None
    tensorflow: FrameworkInfo | None = None
    jax: FrameworkInfo | None = None
    environment: PythonEnvironment | None = None
    # processes the worker started that left its session and kept its output open (advisor
    # stopped waiting for them), and whether its output was cut at advisor's cap
    escaped_pids: list[int] = []
    output_truncated: bool = False


# --- host -------------------------------------------------------------------------------------


class PciGpu(Frozen):
    """An NVIDIA display/3D controller on the PCI bus (sysfs), whatever driver is bound."""

    address: str
    device_id: str  # "0x2204"
    driver: str | None = None  # "nvidia", "nouveau", "vfio-pci", None = unbound


class Host(Frozen):
    hostname: str | None = None
    os: str | None = None  # PRETTY_NAME of /etc/os-release, or platform
    kernel: str | None = None
    machine: str | None = None  # x86_64, aarch64
    cpu_model: str | None = None
    cpu_cores: int | None = None
    memory_total_bytes: int | None = None
    python: str | None = None  # advisor's own interpreter version
    # Each read of the machine that can fail is a Reading: an unreadable /dev is "unknown", never
    # "no device nodes". not_found means the thing is not there (e.g. no module loaded).
    pci_gpus: Reading[list[PciGpu]] = _unprobed()  # /sys/bus/pci/devices
    kernel_module_version: Reading[str] = _unprobed()  # /proc/driver/nvidia/version, first line
    loaded_modules: Reading[list[str]] = _unprobed()  # nvidia, nvidia_uvm, nouveau: /proc/modules
    nvml_libraries: list[str] = []  # libnvidia-ml.so.<version> files: the user-space driver
    compat_libraries: list[str] = []  # CUDA forward-compatibility libcuda on disk
    device_nodes: Reading[list[str]] = _unprobed()  # /dev/nvidia*
    secure_boot: Reading[bool] = _unprobed()  # the EFI SecureBoot variable
    tegra_release: str | None = None  # /etc/nv_tegra_release, first line: a Jetson board
    environment: dict[str, str] = {}
    container: str | None = None  # "docker", "podman", "kubernetes", ...
    wsl: Literal["wsl1", "wsl2"] | None = None

    @property
    def pci_nvidia(self) -> list[PciGpu]:
        return self.pci_gpus.value or []

    @property
    def nodes(self) -> list[str]:
        return self.device_nodes.value or []

    @property
    def modules(self) -> list[str]:
        return self.loaded_modules.value or []


class Snapshot(Frozen):
    schema_version: int = SNAPSHOT_SCHEMA_VERSION
    advisor_version: str
    taken_at: str  # ISO 8601, UTC
    host: Host
    nvml: NvmlSnapshot
    target: TargetPython
