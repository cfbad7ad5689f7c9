"""Facts read from pasted text: collect_env, nvidia-smi, nvcc, pip/conda lists, tracebacks (pure).

A report reaches us as an issue body: prose around blocks, markdown bullets, quoted lines, the
blocks cut short. Every reader scans all lines for its own shapes, so the order and the prose
around them do not matter; a fact the text does not show stays None (unknown, never "no"). Lines
no reader used are kept, so `--verbose` can show what was not understood.

Shapes and where they come from: torch/utils/collect_env.py (every layout since torch 1.x: "Is
debug build: No" before 1.5, "False" after; "CUDA runtime version" is nvcc's), the nvidia-smi
table header and GPU rows, `nvidia-smi -L`, `nvcc --version`, `pip list` / `pip freeze` /
`conda list`, and the warning and error texts of data/compat.yaml `messages`.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from advisor.snapshot import NvmlInitError

GIB = 1024**3


class PastedGpu(BaseModel):
    index: int
    name: str
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    compute_capability: str | None = None  # from "capability sm_61" or "(compute capability 6.1)"
    pcie_gen_current: int | None = None  # nvidia-smi -q's "GPU Link Info", or --query-gpu
    pcie_gen_max: int | None = None
    pcie_width_current: int | None = None
    pcie_width_max: int | None = None


class Pasted(BaseModel):
    """What the text showed; None where it said nothing."""

    kinds: list[str] = []  # which blocks were recognised: collect_env, nvidia-smi, ...
    torch_version: str | None = None
    torch_cuda: str | None = None  # "CUDA used to build PyTorch"; "none" for a CPU-only build
    torch_hip: str | None = None
    cuda_available: bool | None = None
    os: str | None = None
    python_version: str | None = None
    machine: str | None = None
    gpus: list[PastedGpu] = []
    driver_version: str | None = None
    cuda_driver: int | None = None  # 12020 from "CUDA Version: 12.2" or "found version 12020"
    nvcc_version: str | None = None
    cudnn_version: int | None = None
    packages: dict[str, str] = {}  # pip/conda name -> version
    arch_list: list[str] = []  # from "The current PyTorch install supports CUDA capabilities ..."
    nvml_error: NvmlInitError | None = None  # what nvidia-smi said instead of its table
    errors: list[str] = []  # the known error and warning lines, verbatim
    unparsed: list[str] = []


def _clean(line: str) -> str:
    """A line without the decoration pasting adds: quote marks, bullets, code fences."""
    line = line.strip().lstrip(">").strip()
    line = re.sub(r"^[-*+]\s+", "", line)
    return line.strip("`").strip()


def _bool(text: str) -> bool | None:
    word = text.strip().lower()
    return True if word in ("true", "yes") else False if word in ("false", "no") else None


def _cuda_int(text: str) -> int | None:
    m = re.match(r"(\d+)\.(\d+)", text)
    return int(m.group(1)) * 1000 + int(m.group(2)) * 10 if m else None


def _cudnn(text: str) -> int | None:
    """cuDNN as torch.backends.cudnn.version() codes it: 8.9.2 -> 8902, 9.1.0 -> 90100."""
    m = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    if not m:
        m2 = re.fullmatch(r"\s*(\d{4,6})\s*", text)
        return int(m2.group(1)) if m2 else None
    major, minor, patch = (int(g) for g in m.groups())
    return major * 10000 + minor * 100 + patch if major >= 9 else major * 1000 + minor * 100 + patch


# "Key: value" lines of collect_env, and the loose forms people type ("- PyTorch: 2.8.0+cu128")
_FIELDS: list[tuple[str, re.Pattern[str]]] = [
    ("torch_version", re.compile(r"^(?:PyTorch|torch)(?: version)?\s*[:=]\s*(\d+\.\d+[\w.+-]*)", re.I)),
    ("torch_cuda", re.compile(r"^CUDA used to build PyTorch\s*:\s*(.+)$", re.I)),
    ("torch_hip", re.compile(r"^ROCM used to build PyTorch\s*:\s*(.+)$", re.I)),
    ("cuda_available", re.compile(r"^Is CUDA available\s*:\s*(\w+)", re.I)),
    ("os", re.compile(r"^OS\s*:\s*(.+)$")),
    ("python_version", re.compile(r"^Python version\s*:\s*(\d+\.\d+(?:\.\d+)?)", re.I)),
    ("nvcc_version", re.compile(r"^CUDA runtime version\s*:\s*(\d+\.\d+)", re.I)),
    (
        "driver_version",
        re.compile(r"^(?:Nvidia |NVIDIA )?driver(?: version)?\s*:\s*(\d+\.\d+(?:\.\d+)?)", re.I),
    ),
    ("cudnn_version", re.compile(r"^cuDNN version\s*:\s*(.+)$", re.I)),
]
_GPU_LINE = re.compile(r"^(?:GPU models and configuration\s*:\s*)?GPU (\d+)\s*:\s*(.+?)(?:\s*\(UUID:.*\))?$")
_LOOSE_GPU = re.compile(r"^GPU\s*:\s*((?:NVIDIA |GeForce |Tesla |Quadro |RTX |A\d|H\d|V\d|T4).+)$", re.I)
_SMI_L = re.compile(r"GPU (\d+): (.+?) \(UUID: [^)]*\)")
_SMI_HEADER = re.compile(
    r"NVIDIA-SMI\s+([\d.]+)\s+Driver Version:\s*([\d.]+)\s+CUDA Version:\s*([\d.]+|N/A)", re.I
)
_SMI_GPU = re.compile(r"^\|\s*(\d+)\s+(.+?)\s+(?:On|Off)\s*\|\s*[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:")
_SMI_MEMORY = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")
_NVCC = re.compile(r"Cuda compilation tools, release (\d+\.\d+)")
# a whole line of a package list: "[pip3] torch==2.1.0", "torch==2.1.0", "torch  2.1.0  py3.11_cuda12.1"
_PIP_PAIR = re.compile(
    r"^(?:\[(?:pip\d?|conda)\]\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)(?:==|\s+)(\d[\w.+!-]*)(?:\s+\S+){0,2}$"
)
# torch.utils.cpp_extension, and DeepSpeed's op builder, on a toolkit that is not torch's CUDA
_EXT_MISMATCH = re.compile(
    r"detected CUDA version \((\d+\.\d+)\) mismatches the version that was used to compile\s+PyTorch "
    r"\((\d+\.\d+)\)",
    re.I,
)
_DS_MISMATCH = re.compile(
    r"system version is (\d+\.\d+) but the version that pytorch was compiled with is (\d+\.\d+)", re.I
)
_NVRM_MISMATCH = re.compile(r"API mismatch: the client has the version ([\d.]+)", re.I)
_FOUND_VERSION = re.compile(r"too old \(found version (\d{4,5})\)")
_SM_WARNING = re.compile(
    r"((?:NVIDIA|Tesla|GeForce|Quadro|TITAN|Titan)[\w ./-]*?) with CUDA capability sm_(\d+) is not "
    r"compatible with the current PyTorch installation"
)
_SUPPORTS = re.compile(r"supports CUDA capabilities ((?:sm_\d+\s*)+)")
_CC_PAREN = re.compile(r"\(compute capability (\d+\.\d+)\)")

# known texts, lower case: a line holding one is an error line (the rules read them as torch's
# start-up error, import error or kernel error)
KNOWN_ERRORS = (
    "the nvidia driver on your system is too old",
    "no kernel image is available for execution",
    "is not compatible with the current pytorch installation",
    "forward compatibility was attempted on non supported hw",
    "system not yet initialized",
    "cuda unknown error",
    "error 999",
    "unsupported display driver / cuda driver combination",
    "found no nvidia driver on your system",
    "torch not compiled with cuda enabled",
    "undefined symbol",
    "cannot open shared object file",
    "cuda driver version is insufficient for cuda runtime version",
    "no cuda gpus are available",
    "cuda out of memory",
    "driver/library version mismatch",
    "couldn't communicate with the nvidia driver",
    "no devices were found",
    "cuda error:",
    "mismatches the version that was used to compile",
    "but the version that pytorch was compiled with is",
    "api mismatch: the client has the version",
    "not found in the system path",
    "flashattention only supports ampere gpus or newer",
)
_PACKAGES_OF_INTEREST = re.compile(
    r"^(torch|torchvision|torchaudio|triton|nvidia-[a-z0-9-]+|flash[-_]attn|xformers|bitsandbytes|"
    r"jax|jaxlib|tensorflow|numpy|deepspeed|vllm)$",
    re.I,
)


def read_report(text: str) -> Pasted:
    p = Pasted()
    kinds: set[str] = set()
    gpus: dict[int, PastedGpu] = {}
    last_smi_gpu: int | None = None
    for raw in text.splitlines():
        line = _clean(raw)
        if not line:
            continue
        used = _read_line(p, line, raw, kinds, gpus)
        m = _SMI_GPU.match(raw.strip())
        if m:
            index = int(m.group(1))
            gpus[index] = gpus.get(index) or PastedGpu(index=index, name=m.group(2).strip())
            last_smi_gpu, used = index, True
            kinds.add("nvidia-smi")
        else:
            mem = _SMI_MEMORY.search(raw)
            if mem and last_smi_gpu is not None and raw.strip().startswith("|"):
                g = gpus[last_smi_gpu]
                gpus[last_smi_gpu] = g.model_copy(
                    update={"memory_used_mib": int(mem.group(1)), "memory_total_mib": int(mem.group(2))}
                )
                last_smi_gpu, used = None, True
        if not used:
            p.unparsed.append(raw.rstrip())
    _repl(p, text, kinds)
    # warnings wrapped over two lines by the terminal or the issue form: read them joined too
    flat = " ".join(_clean(raw) for raw in text.splitlines())
    _from_error(p, flat, flat.lower(), gpus)
    if p.torch_version is None:
        p.torch_version = _listed_torch(p, text)
    _smi_query(p, text, gpus, kinds)
    _smi_csv(p, text, gpus, kinds)
    p.gpus = [gpus[i] for i in sorted(gpus)]
    p.kinds = sorted(kinds)
    return p


_Q_LINE = re.compile(r"^\s*([A-Za-z][\w /()-]*?)\s+:\s*(.*?)\s*$")
_Q_GPU = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)\s*$")
# (section, key) of `nvidia-smi -q` -> PastedGpu field; the section is the last header line
_Q_FIELDS = {
    ("", "Product Name"): "name",
    ("FB Memory Usage", "Total"): "memory_total_mib",
    ("FB Memory Usage", "Used"): "memory_used_mib",
    ("PCIe Generation", "Max"): "pcie_gen_max",
    ("PCIe Generation", "Current"): "pcie_gen_current",
    ("Link Width", "Max"): "pcie_width_max",
    ("Link Width", "Current"): "pcie_width_current",
}


def _number(value: str) -> int | None:
    m = re.match(r"(\d+)", value)
    return int(m.group(1)) if m else None


def _smi_query(p: Pasted, text: str, gpus: dict[int, PastedGpu], kinds: set[str]) -> None:
    """`nvidia-smi -q`: "Key : value" lines under indented section headers, one GPU block each."""
    if "==============NVSMI LOG==============" not in text and not re.search(
        r"^GPU [0-9A-F]{8}:", text, re.M
    ):
        return
    kinds.add("nvidia-smi -q")
    index, section = -1, ""
    fields: dict[int, dict[str, object]] = {}
    for raw in text.splitlines():
        line = _clean(raw)
        if _Q_GPU.match(line):
            index, section = index + 1, ""
            fields[index] = {}
            continue
        m = _Q_LINE.match(line)
        if not m:
            if line and index >= 0:
                section = line
            continue
        key, value = m.group(1).strip(), m.group(2)
        if key == "Driver Version":
            p.driver_version = value
        elif key == "CUDA Version" and value != "N/A":
            p.cuda_driver = _cuda_int(value)
        if index < 0:
            continue
        field = _Q_FIELDS.get((section if key != "Product Name" else "", key))
        if field == "name":
            fields[index]["name"] = value
        elif field:
            fields[index][field] = _number(value)
    for i, values in fields.items():
        if "name" in values:
            known = gpus.get(i)
            base = known.model_dump() if known else {"index": i, "name": values["name"]}
            gpus[i] = PastedGpu.model_validate({**base, **{k: v for k, v in values.items() if v is not None}})


_CSV_FIELDS = {
    "index": "index",
    "name": "name",
    "memory.total": "memory_total_mib",
    "memory.used": "memory_used_mib",
    "compute_cap": "compute_capability",
    "pcie.link.gen.current": "pcie_gen_current",
    "pcie.link.gen.max": "pcie_gen_max",
    "pcie.link.width.current": "pcie_width_current",
    "pcie.link.width.max": "pcie_width_max",
}


def _smi_csv(p: Pasted, text: str, gpus: dict[int, PastedGpu], kinds: set[str]) -> None:
    """`nvidia-smi --query-gpu=... --format=csv`: a header of query names, then one row a GPU."""
    lines = [_clean(line) for line in text.splitlines()]
    for at, line in enumerate(lines):
        heads = [h.split("[")[0].strip() for h in line.split(",")]
        if len(heads) < 2 or not {"name", "driver_version", "memory.total"} & set(heads):
            continue
        if not all(re.fullmatch(r"[a-z_.]+", h) for h in heads):
            continue
        kinds.add("nvidia-smi --query-gpu")
        for n, row in enumerate(lines[at + 1 :]):
            cells = [c.strip() for c in row.split(",")]
            if len(cells) != len(heads):
                break
            values = dict(zip(heads, cells, strict=True))
            if values.get("driver_version"):
                p.driver_version = values["driver_version"]
            out: dict[str, object] = {"index": n, "name": values.get("name") or "?"}
            for head, field in _CSV_FIELDS.items():
                if head in values and head != "name":
                    out[field] = values[head] if field == "compute_capability" else _number(values[head])
            index = int(out["index"]) if isinstance(out["index"], int) else n
            gpus[index] = PastedGpu.model_validate({**out, "index": index})
        return


_LISTED = re.compile(r"^(?:\[(?:pip\d?|conda)\]\s+)(?:torch|pytorch)\s*(?:==|\s)\s*(\d[\w.+]*)", re.M)
_CONDA_ROW = re.compile(r"^(?:torch|pytorch)\s{2,}(\d[\w.+]*)(?:\s+\S+){0,2}\s*$", re.M)
_FREEZE = re.compile(r"^[A-Za-z0-9][\w.-]*==\S+$", re.M)


_REPL_VERSION = re.compile(r"^>>> print\(torch\.__version__\)\s*\n\s*(\d+\.\d+[\w.+]*)\s*$", re.M)
_REPL_AVAILABLE = re.compile(
    r"^>>> (?:print\()?torch\.cuda\.is_available\(\)\)?\s*\n\s*(True|False)\s*$", re.M
)


def _repl(p: Pasted, text: str, kinds: set[str]) -> None:
    """An interpreter session: the first answer to torch.__version__ / torch.cuda.is_available()
    (a report often shows a second, working environment after it)."""
    m = _REPL_VERSION.search(text)
    if m and p.torch_version is None:
        p.torch_version = m.group(1)
        kinds.add("python session")
    m = _REPL_AVAILABLE.search(text)
    if m and p.cuda_available is None:
        p.cuda_available = m.group(1) == "True"
        kinds.add("python session")


def _listed_torch(p: Pasted, text: str) -> str | None:
    """torch's version from a package list: collect_env's "[pip3] torch==", a conda list row
    (name, version, build), or a pip freeze block; never a lone `torch==` line, which in an
    issue is as often the fix someone suggests as what is installed."""
    m = _LISTED.search(text) or _CONDA_ROW.search(text)
    if m:
        return m.group(1)
    if len(_FREEZE.findall(text)) >= 3:
        m = re.search(r"^torch==(\d[\w.+]*)$", text, re.M)
        if m:
            return m.group(1)
    return None


def _read_line(p: Pasted, line: str, raw: str, kinds: set[str], gpus: dict[int, PastedGpu]) -> bool:
    used = False
    for field, pattern in _FIELDS:
        m = pattern.match(line)
        if m:
            _set_field(p, field, m.group(1).strip())
            kinds.add("collect_env" if field != "torch_version" else "versions")
            used = True
    listed = _SMI_L.findall(line)
    if len(listed) > 1:  # `nvidia-smi -L` pasted into one line
        for index, name in listed:
            gpus.setdefault(int(index), PastedGpu(index=int(index), name=name.strip()))
        kinds.add("nvidia-smi")
        return True
    m = _GPU_LINE.match(line) or _LOOSE_GPU.match(line)
    if m:
        index, name = (int(m.group(1)), m.group(2)) if m.re is _GPU_LINE else (0, m.group(1))
        cc = _CC_PAREN.search(name)
        name = _CC_PAREN.sub("", name).strip()
        if index not in gpus:
            gpus[index] = PastedGpu(index=index, name=name, compute_capability=cc.group(1) if cc else None)
        used = True
    m = _SMI_HEADER.search(raw)
    if m:
        p.driver_version = m.group(2)
        if m.group(3) != "N/A":
            p.cuda_driver = _cuda_int(m.group(3))
        kinds.add("nvidia-smi")
        used = True
    m = _NVCC.search(line)
    if m:
        p.nvcc_version = m.group(1)
        kinds.add("nvcc")
        used = True
    m = _PIP_PAIR.match(line)
    if m and _PACKAGES_OF_INTEREST.match(m.group(1)):
        p.packages[m.group(1).lower().replace("_", "-")] = m.group(2)
        kinds.add("packages")
        used = True
    lower = line.lower()
    if any(k in lower for k in KNOWN_ERRORS):
        p.errors.append(line)
        kinds.add("errors")
        used = True
        _from_error(p, line, lower, gpus)
    return used


def _set_field(p: Pasted, field: str, value: str) -> None:
    if field == "cuda_available":
        p.cuda_available = _bool(value)
    elif field == "torch_cuda":
        word = value.lower()
        p.torch_cuda = "none" if word in ("none", "n/a", "could not collect") else value
    elif field == "torch_hip":
        p.torch_hip = None if value.lower() in ("n/a", "none", "could not collect") else value
    elif field == "cudnn_version":
        p.cudnn_version = _cudnn(value)
    elif field == "os":
        p.os = value
        if "(" in value and value.endswith(")"):
            p.machine = value.rsplit("(", 1)[1].rstrip(")")
    else:
        setattr(p, field, value)


def _from_error(p: Pasted, line: str, lower: str, gpus: dict[int, PastedGpu]) -> None:
    m = _FOUND_VERSION.search(line)
    if m:
        p.cuda_driver = int(m.group(1))
    m = _SM_WARNING.search(line)
    if m:
        name, sm = m.group(1).strip(), m.group(2)
        cc = f"{sm[:-1]}.{sm[-1]}"
        first = gpus.get(0)
        gpus[0] = (first or PastedGpu(index=0, name=name)).model_copy(update={"compute_capability": cc})
    m = _SUPPORTS.search(line)
    if m and not p.arch_list:
        p.arch_list = m.group(1).split()
    for pattern in (_EXT_MISMATCH, _DS_MISMATCH):
        m = pattern.search(line)
        if m:
            p.nvcc_version = p.nvcc_version or m.group(1)
            p.torch_cuda = p.torch_cuda or m.group(2)
    if "flashattention only supports ampere gpus or newer" in lower:  # flash-attn's TORCH_CHECK
        p.packages.setdefault("flash-attn", "(version not shown)")
    if _NVRM_MISMATCH.search(line) or "driver/library version mismatch" in lower:
        p.nvml_error = "lib_rm_version_mismatch"
    elif "couldn't communicate with the nvidia driver" in lower:
        p.nvml_error = "driver_not_loaded"
