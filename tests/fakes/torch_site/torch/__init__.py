"""A fake `torch` for tests of the target-Python worker: only the API the worker touches.

It reads its behaviour from the JSON file named by $ADVISOR_FAKE_TORCH, so one package plays
every scenario: a CUDA build on an old driver, a CPU-only wheel, a build without the GPU's
architecture, a crash or a hang during CUDA initialisation. Texts it raises or warns are the ones
real PyTorch gives (torch/cuda/__init__.py, c10/cuda/CUDAFunctions.cpp).
"""

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
if _cfg.get("import_error"):
    raise ImportError(_cfg["import_error"])

__version__ = _cfg["version"]
__file__ = __file__
float32 = "float32"

version = types.SimpleNamespace(cuda=_cfg.get("cuda"), hip=_cfg.get("hip"))


class _Cudnn:
    @staticmethod
    def version():
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


class _Cuda:
    nccl = types.SimpleNamespace(
        version=lambda: (
            tuple(_cfg["nccl"])
            if _cfg.get("nccl")
            else (_ for _ in ()).throw(RuntimeError("NCCL is not available"))
        )
    )

    @staticmethod
    def is_available():
        _act("cuda")
        if _cfg.get("init_warning"):
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
        return list(_cfg.get("arch_list", []))

    @staticmethod
    def synchronize(i=None):
        return None


cuda = _Cuda()
