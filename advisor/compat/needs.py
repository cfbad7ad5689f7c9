"""The facts rules need, each asked before a rule runs (pure).

A need answers None when its fact is there, else a Skip: `not_checked` when the fact exists but
could not be read (with NVML's or the file system's reason), `not_applicable` when there is
nothing of that kind here (no torch installed, a board without ECC).
"""

from __future__ import annotations

from typing import Any, Literal

from advisor.compat.common import gpu_present, torch_not_installed
from advisor.compat.findings import Facts, Need, Skip
from advisor.snapshot import Gpu, Reading


def _reading_skip(
    reading: Reading[Any], what: str, unsupported: Literal["not_checked", "not_applicable"]
) -> Skip | None:
    if reading.ok:
        return None
    if reading.unavailable == "not_probed":
        return Skip("not_checked", f"{what} was not read (snapshot from an older advisor)")
    if reading.unavailable in ("not_supported", "function_not_found", "deprecated"):
        return Skip(unsupported, f"{what}: {reading.why()}")
    return Skip("not_checked", f"{what} could not be read: {reading.why()}")


def gpu_reading(name: str, *, unsupported: Literal["not_checked", "not_applicable"] = "not_checked") -> Need:
    """A per-GPU NVML reading. ``unsupported``: what NotSupported means for this rule: the board
    has no such thing (ECC on a GeForce: not applicable), or we cannot tell (not checked)."""

    def ask(facts: Facts, gpu: Gpu | None) -> Skip | None:
        assert gpu is not None, f"{name} is a per-GPU need"
        return _reading_skip(getattr(gpu, name), name.replace("_", " "), unsupported)

    return Need(f"gpu.{name}", ask)


def host_reading(name: str) -> Need:
    def ask(facts: Facts, gpu: Gpu | None) -> Skip | None:
        return _reading_skip(getattr(facts.snapshot.host, name), name.replace("_", " "), "not_checked")

    return Need(f"host.{name}", ask)


def _nvml(facts: Facts, gpu: Gpu | None) -> Skip | None:
    nvml = facts.snapshot.nvml
    if nvml.init_error is None:
        return None
    if nvml.init_error == "library_not_found" and not gpu_present(facts):
        return Skip("not_applicable", "no NVIDIA GPU or driver on this machine")
    return Skip("not_checked", f"NVML did not start ({nvml.init_error})")


def _gpus(facts: Facts, gpu: Gpu | None) -> Skip | None:
    return _nvml(facts, gpu) or (
        None if facts.snapshot.nvml.gpus else Skip("not_applicable", "NVML reports no GPU")
    )


def _driver_version(facts: Facts, gpu: Gpu | None) -> Skip | None:
    return _nvml(facts, gpu) or _reading_skip(
        facts.snapshot.nvml.driver_version, "driver version", "not_checked"
    )


def _driver_cuda(facts: Facts, gpu: Gpu | None) -> Skip | None:
    """The newest CUDA the driver runs: NVML's CUDA version, or the driver version to derive it
    from (a pasted "found version 11040" has the first without the second)."""
    nvml = facts.snapshot.nvml
    if nvml.init_error is None and nvml.cuda_driver_version.ok:
        return None
    return _driver_version(facts, gpu)


def _torch(facts: Facts, gpu: Gpu | None) -> Skip | None:
    target = facts.snapshot.target
    if target.torch is not None:
        return None
    if target.status == "not_run":
        return Skip("not_checked", "the framework probe was skipped (--no-python)")
    if target.status not in ("ok", "failed"):
        return Skip("not_checked", f"the framework probe did not answer ({target.status})")
    if torch_not_installed(target.torch_import_error):
        return Skip("not_applicable", f"no torch in {target.executable}")
    return Skip("not_checked", "import torch failed")


def _torch_cuda(facts: Facts, gpu: Gpu | None) -> Skip | None:
    skip = _torch(facts, gpu)
    if skip is not None:
        return skip
    torch = facts.snapshot.target.torch
    assert torch is not None
    if torch.hip_version:
        return Skip("not_applicable", f"torch {torch.version} is a ROCm build")
    if not torch.cuda_version:
        return Skip("not_applicable", f"torch {torch.version} is a CPU-only build")
    return None


def _environment(facts: Facts, gpu: Gpu | None) -> Skip | None:
    if facts.snapshot.target.environment is not None:
        return None
    return _torch(facts, gpu) or Skip("not_checked", "the worker did not report its environment")


NVML = Need("nvml", _nvml)
GPUS = Need("gpus", _gpus)
DRIVER_VERSION = Need("nvml.driver_version", _driver_version)
DRIVER_CUDA = Need("nvml.driver_cuda", _driver_cuda)
TORCH = Need("torch", _torch)
TORCH_CUDA = Need("torch.cuda", _torch_cuda)
ENVIRONMENT = Need("target.environment", _environment)
