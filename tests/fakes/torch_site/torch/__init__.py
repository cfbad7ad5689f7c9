"""A fake `torch` for tests of the target-Python worker: only the API the worker touches.

It reads its behaviour from the JSON file named by $ADVISOR_FAKE_TORCH, so one package plays
every scenario: a CUDA build on an old driver, a CPU-only wheel, a build without the GPU's
architecture, a crash or a hang during CUDA initialisation. Texts it raises or warns are the ones
real PyTorch gives (torch/cuda/__init__.py, c10/cuda/CUDAFunctions.cpp), and it behaves as real
torch does where the worker depends on it: get_arch_list() answers [] when CUDA is unavailable
while torch._C._cuda_getArchFlags() does not; is_available() warns once; torch.cuda.init() raises
the start-up error. `loads` are shared libraries the import really maps (dlopen), so they show in
/proc/self/maps as the real torch's CUDA libraries do.
"""

import ctypes
import json
import os
import signal
import sys
import time
import types
import warnings

with open(os.environ["ADVISOR_FAKE_TORCH"]) as _f:
    _cfg = json.load(_f)


def _act(stage):
    if _cfg.get("crash_at") == stage:
        os.kill(os.getpid(), signal.SIGSEGV)
    if _cfg.get("hang_at") == stage:
        time.sleep(3600)
    if _cfg.get("exit_at") == stage:
        sys.stderr.write("Fatal Python error: something broke\n")
        os._exit(3)


_act("import")
if _cfg.get("missing"):  # what `import torch` says where it is not installed
    raise ModuleNotFoundError("No module named 'torch'")
for _path in _cfg.get("loads", []):  # torch/__init__.py loads its CUDA libraries at import
    ctypes.CDLL(_path)
if _cfg.get("import_error"):
    # "ImportError: libcudnn.so.8: cannot open ..." as the reporter pasted it: type, then message.
    _kind, _sep, _message = _cfg["import_error"].partition(": ")
    _types = {"ImportError": ImportError, "OSError": OSError, "ValueError": ValueError}
    if _sep and _kind in _types:
        raise _types[_kind](_message)
    raise ImportError(_cfg["import_error"])

__version__ = _cfg["version"]
__file__ = __file__
float32 = "float32"

version = types.SimpleNamespace(cuda=_cfg.get("cuda"), hip=_cfg.get("hip"))


class _Cudnn:
    @staticmethod
    def version():
        if _cfg.get("cudnn_error"):  # torch.backends.cudnn._init() checks the runtime's version
            raise RuntimeError(_cfg["cudnn_error"])
        return _cfg.get("cudnn")


backends = types.SimpleNamespace(cudnn=_Cudnn())


class _Props:
    def __init__(self, d):
        self.name = d["name"]
        self.major, self.minor = d["cc"]
        self.total_memory = d.get("memory", 0)


class _Tensor:
    def __init__(self, values):
        self.values = values

    def __mul__(self, k):
        return _Tensor([v * k for v in self.values])

    def sum(self):
        return _Tensor([sum(self.values)])

    def item(self):
        return self.values[0]


def arange(n, device="cpu", dtype=None):
    if device.startswith("cuda"):
        _act("kernel")
        index = int(device.split(":")[1])
        dev = _cfg["devices"][index]
        if dev.get("warn"):
            warnings.warn(dev["warn"], UserWarning, stacklevel=2)
        if dev.get("kernel_error"):
            raise RuntimeError(
                dev["kernel_error"] + "\nCUDA kernel errors might be asynchronously "
                "reported at some other API call, so the stacktrace below might "
                "be incorrect."
            )
    return _Tensor([float(i) for i in range(n)])


def _startup_message():
    """What torch's device_count_impl raises on this machine (c10/cuda/CUDAFunctions.cpp)."""
    warning = _cfg.get("init_warning") or ""
    text = warning.split("CUDA initialization: ", 1)[-1].split(" (Triggered internally", 1)[0]
    return _cfg.get("init_raises") or text.strip() or "No CUDA GPUs are available"


_C = types.SimpleNamespace()
if _cfg.get("cuda"):  # CPU-only builds have no CUDA bindings at all
    _C._cuda_getArchFlags = lambda: " ".join(_cfg.get("arch_list", [])) or None


class _Cuda:
    nccl = types.SimpleNamespace(
        version=lambda: (
            tuple(_cfg["nccl"])
            if _cfg.get("nccl")
            else (_ for _ in ()).throw(RuntimeError("NCCL is not available"))
        )
    )

    _warned = False

    @staticmethod
    def is_available():
        _act("cuda")
        if _cfg.get("init_warning") and not _Cuda._warned:  # torch warns once per process
            _Cuda._warned = True
            warnings.warn(_cfg["init_warning"], UserWarning, stacklevel=2)
        return bool(_cfg.get("available"))

    @staticmethod
    def device_count():
        return len(_cfg.get("devices", [])) if _cfg.get("available") else 0

    @staticmethod
    def get_device_properties(i):
        return _Props(_cfg["devices"][i])

    @staticmethod
    def get_arch_list():
        if not _Cuda.is_available():  # as torch/cuda/__init__.py does: it warns here, once
            return []
        return list(_cfg.get("arch_list", []))

    @staticmethod
    def init():
        if not _Cuda._available():
            if not _cfg.get("cuda"):
                raise AssertionError("Torch not compiled with CUDA enabled")
            raise RuntimeError(_startup_message())

    @staticmethod
    def _available():
        return bool(_cfg.get("available"))

    @staticmethod
    def synchronize(i=None):
        return None


cuda = _Cuda()
