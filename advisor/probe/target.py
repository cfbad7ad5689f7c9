"""The target Python: run the worker in a subprocess of the interpreter being checked.

advisor never imports torch itself. The worker is started first (`start_target_probe`) so that
importing torch, the slowest step of a check, overlaps with the NVML and host probes.
A missing interpreter, a crash (e.g. SIGSEGV in CUDA init), a hang, or unreadable output all
become a `TargetPython` with a status, never an exception.
"""

from __future__ import annotations

import signal
from typing import Any

from pydantic import ValidationError

from advisor.probe import spawn as spawn_module
from advisor.probe.spawn import DEFAULT_TIMEOUT_S, RunningProbe
from advisor.probe.worker._advisor_wire import record
from advisor.snapshot import (
    FrameworkInfo,
    LibraryCopies,
    LoadedLibrary,
    PythonEnvironment,
    TargetPython,
    TorchDevice,
    TorchInfo,
)


def start_target_probe(
    executable: str, timeout_s: float = DEFAULT_TIMEOUT_S, *, frameworks: bool = False
) -> RunningProbe:
    """The worker for this interpreter: the one `main` prestarted, or a new one."""
    args = ("--frameworks",) if frameworks else ()
    return spawn_module.claim(executable, timeout_s, args) or spawn_module.spawn(
        executable, timeout_s, args=args
    )


def finish_target_probe(probe: RunningProbe) -> TargetPython:
    if probe.child.process is None:
        return TargetPython(executable=probe.executable, status="not_found", detail=probe.start_error)
    done = probe.finish()
    result = parse_worker_output(
        probe.executable,
        done.stdout,
        done.stderr,
        done.returncode,
        timed_out=done.timed_out,
        timeout_s=probe.timeout_s,
        duration_s=done.duration_s,
    )
    return result.model_copy(
        update={"pid": probe.child.pid, "escaped_pids": done.escaped, "output_truncated": done.truncated}
    )


def run_target_probe(
    executable: str, timeout_s: float = DEFAULT_TIMEOUT_S, *, frameworks: bool = False
) -> TargetPython:
    return finish_target_probe(start_target_probe(executable, timeout_s, frameworks=frameworks))


def _tail(text: str, lines: int = 3) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def parse_worker_output(
    executable: str,
    stdout: str,
    stderr: str,
    returncode: int | None,
    *,
    timed_out: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    duration_s: float | None = None,
) -> TargetPython:
    """Turn the worker's marked lines (possibly cut short) into a TargetPython."""
    stages: list[dict[str, Any]] = []
    bad_line = None
    for line in stdout.splitlines():
        try:
            found = record(line)
        except ValueError:
            bad_line = line[:120]
            continue
        if found is not None:
            stages.append(found)
    last = stages[-1]["stage"] if stages else None
    common: dict[str, Any] = {"executable": executable, "stage": str(last) if last else None}
    common["duration_s"] = duration_s
    try:
        common.update(_stages(stages))
    except (ValidationError, TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        return TargetPython(
            status="garbage", detail=f"the worker's answer has the wrong shape: {_short(exc)}", **common
        )

    if timed_out:
        return TargetPython(
            status="timeout",
            detail=f"no answer within {timeout_s:g} s; last step: {last or 'interpreter start'}",
            **common,
        )
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return TargetPython(
            status="crashed",
            detail=(
                f"killed by {name} after step {last or 'interpreter start'}"
                + (f"; stderr: {_tail(stderr)}" if stderr.strip() else "")
            ),
            **common,
        )
    if bad_line is not None or (not stages and returncode == 0):
        shown = bad_line or _tail(stdout) or "(nothing)"
        return TargetPython(status="garbage", detail=f"unreadable worker output: {shown}", **common)
    if not any(s["stage"] == "done" for s in stages):
        return TargetPython(
            status="failed",
            detail=(
                f"exit code {returncode} after step {last or 'interpreter start'}"
                + (f"; stderr: {_tail(stderr)}" if stderr.strip() else "")
            ),
            **common,
        )
    return TargetPython(status="ok", **common)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}"[:200]


def _stages(stages: list[dict[str, Any]]) -> dict[str, Any]:
    """The TargetPython fields the stage records hold; raises on a record of the wrong shape."""
    by = {s["stage"]: s for s in stages}
    start = by.get("start", {})
    seen = by.get("frameworks", {})
    torch_stage = by.get("torch", {})
    import_error = torch_stage.get("import_error")
    return {
        "python_version": start.get("python_version"),
        "conda_env": start.get("conda_env"),
        "tensorflow": _framework(start.get("tensorflow"), seen.get("tensorflow")),
        "jax": _framework(start.get("jax"), seen.get("jax")),
        "torch_import_error": str(import_error) if import_error is not None else None,
        "torch": _torch(stages) if "version" in torch_stage else None,
        "environment": _environment(by.get("environment")),
    }


def _environment(data: Any) -> PythonEnvironment | None:
    if not isinstance(data, dict):
        return None
    wheels = data.get("wheels") or {}
    tools = data.get("toolchain") or {}
    named = data.get("import_library")
    return PythonEnvironment(
        libraries=[LoadedLibrary(**lib) for lib in data.get("libraries") or []],
        wheels_required=list(wheels.get("required") or []),
        wheels_installed=dict(wheels.get("installed") or {}),
        wheel_sites=dict(data.get("wheel_sites") or {}),
        import_library=LibraryCopies.model_validate(named) if named else None,
        torch_dist=data.get("torch_dist"),
        nvcc=tools.get("nvcc"),
        nvcc_version=tools.get("nvcc_version"),
        cuda_home=tools.get("cuda_home"),
        ninja=bool(tools.get("ninja")),
        packages=dict(data.get("packages") or {}),
    )


def _framework(data: Any, seen: Any = None) -> FrameworkInfo | None:
    if not isinstance(data, dict) or not data.get("version"):
        return None
    if isinstance(seen, dict):  # --frameworks: the framework was imported and asked for GPUs
        data = {**data, **seen}
    return FrameworkInfo(
        **{
            k: (str(v) if v is not None and k != "gpu_count" else v)
            for k, v in data.items()
            if k in FrameworkInfo.model_fields
        }
    )


def _torch(stages: list[dict[str, Any]]) -> TorchInfo:
    by = {s["stage"]: s for s in stages}
    t = by["torch"]
    cuda = by.get("cuda", {})
    devices = [
        TorchDevice(**{k: v for k, v in s.items() if k in TorchDevice.model_fields})
        for s in stages
        if s["stage"] == "device"
    ]
    warnings = [*(t.get("warnings") or []), *(w for w in cuda.get("warnings") or [] if w)]
    for s in stages:
        if s["stage"] == "device":
            warnings.extend(w for w in s.get("warnings") or [] if w not in warnings)
    return TorchInfo(
        version=t["version"],
        path=t.get("path"),
        cuda_version=t.get("cuda_version"),
        hip_version=t.get("hip_version"),
        cudnn_version=t.get("cudnn_version"),
        cudnn_error=t.get("cudnn_error"),
        nccl_version=t.get("nccl_version"),
        arch_list=list(t.get("arch_list") or []),
        cuda_available=bool(cuda.get("available")),
        device_count=int(cuda.get("device_count") or 0),
        devices=devices,
        init_error=cuda.get("init_error"),
        warnings=warnings,
        installer=t.get("installer"),
    )
