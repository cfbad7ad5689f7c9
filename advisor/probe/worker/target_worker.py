"""Runs inside the interpreter being checked; reports its ML stack as marked JSON lines.

Self-contained on purpose (standard library + torch): it must run in any environment, whatever
advisor itself depends on. Each stage is printed and flushed as soon as it is known, so a crash or a
hang in CUDA initialisation still leaves everything learnt before it. Lines without the marker
(something the user's site-packages printed) are ignored by the reader.
"""

from __future__ import annotations

import ast
import os
import platform
import re
import sys
import time
import warnings
from typing import Any

# The wire format, shared with advisor: loaded by path (advisor need not be installed here).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from _advisor_wire import emit
finally:
    del sys.path[0]
# The file system the target sees: "/" on a real machine. Tests that rebuild a reported machine's
# tree point it elsewhere (as the host probe's root), so paths are read under it and reported
# as the machine would name them.
ROOT = os.environ.get("ADVISOR_TARGET_ROOT", "/")


def on_disk(path: str) -> str:
    return path if ROOT == "/" else os.path.join(ROOT, path.lstrip("/"))


def as_named(path: str) -> str:
    if ROOT != "/" and path.startswith(ROOT.rstrip("/") + "/"):
        return "/" + path[len(ROOT.rstrip("/")) + 1 :]
    return path


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return type(exc).__name__ + (": " + text[0] if text else "")


def dist_version(name: str) -> str | None:
    try:
        from importlib import metadata

        return metadata.version(name)
    except Exception:
        return None


def installer(name: str) -> str | None:
    try:
        from importlib import metadata

        text = metadata.distribution(name).read_text("INSTALLER")
        return text.strip() or None if text else None
    except Exception:
        return None


def tensorflow_info() -> dict[str, object] | None:
    """Version and CUDA build without importing TensorFlow (seconds, and it grabs GPUs)."""
    version = dist_version("tensorflow") or dist_version("tensorflow-cpu") or dist_version("tf-nightly")
    if not version:
        return None
    info: dict[str, object] = {"version": version}
    try:
        import importlib.util

        spec = importlib.util.find_spec("tensorflow")
        base = os.path.dirname(spec.origin) if spec and spec.origin else None
        path = os.path.join(base, "python", "platform", "build_info.py") if base else None
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                tree = ast.parse(handle.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "build_info":
                    build = _literal_build_info(node.value)
                    info["cuda_version"] = build.get("cuda_version")
                    info["cudnn_version"] = build.get("cudnn_version")
    except Exception as exc:
        info["error"] = first_line(exc)
    return info


def _literal_build_info(value: ast.expr) -> dict[str, object]:
    """gen_build_info.py writes `collections.OrderedDict([(key, value), ...])`; accept a dict too."""
    if isinstance(value, ast.Call) and value.args:
        return dict(ast.literal_eval(value.args[0]))
    return dict(ast.literal_eval(value))


def jax_info() -> dict[str, object] | None:
    version = dist_version("jax")
    if not version:
        return None
    info: dict[str, object] = {"version": version}
    for major in ("13", "12", "11"):
        for plugin in (f"jax-cuda{major}-plugin", f"jax-cuda{major}-pjrt"):
            if dist_version(plugin):
                info["cuda_version"] = major
                return info
    jaxlib = dist_version("jaxlib") or ""
    if "+cuda" in jaxlib:  # old-style wheels: jaxlib 0.4.x+cuda12.cudnn89
        info["cuda_version"] = jaxlib.split("+cuda", 1)[1].split(".")[0]
    return info


def torch_stage(torch: Any) -> dict[str, object]:
    info: dict[str, object] = {
        "version": str(torch.__version__),
        "path": os.path.dirname(getattr(torch, "__file__", "") or ""),
        "cuda_version": getattr(torch.version, "cuda", None),
        "hip_version": getattr(torch.version, "hip", None),
        "installer": installer("torch"),
    }
    try:
        info["cudnn_version"] = torch.backends.cudnn.version()
    except Exception as exc:  # "cuDNN version incompatibility: PyTorch was compiled against ..."
        info["cudnn_version"] = None
        info["cudnn_error"] = first_line(exc)
    try:
        nccl = torch.cuda.nccl.version()
        info["nccl_version"] = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl)
    except Exception:
        info["nccl_version"] = None
    info["arch_list"] = arch_list(torch)
    return info


def arch_list(torch: Any) -> list[str]:
    """The compiled targets. torch.cuda.get_arch_list() answers [] whenever CUDA fails to start,
    so read the build's flags first: they need no device."""
    try:
        flags = torch._C._cuda_getArchFlags()
        if flags:
            return str(flags).split()
    except Exception:
        pass
    try:
        return list(torch.cuda.get_arch_list())
    except Exception:
        return []


def cuda_stage(torch: Any) -> None:
    caught_all: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = False
        count = 0
        init_error = None
        try:
            available = bool(torch.cuda.is_available())
            count = int(torch.cuda.device_count()) if available else 0
        except Exception as exc:
            init_error = first_line(exc)
        if not available and init_error is None and getattr(torch.version, "cuda", None):
            # is_available() is silent when there is no driver or no device (torch >= 1.8); the
            # first real CUDA call says which, in torch's own words.
            try:
                torch.cuda.init()
            except Exception as exc:
                init_error = first_line(exc)
        caught_all.extend(str(w.message).strip() for w in caught)
    emit("cuda", available=available, device_count=count, init_error=init_error, warnings=caught_all)
    for index in range(count):
        device(torch, index)


def device(torch: Any, index: int) -> None:
    data: dict[str, object] = {"index": index}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            props = torch.cuda.get_device_properties(index)
            data.update(
                name=props.name,
                capability=f"{props.major}.{props.minor}",
                total_memory_bytes=int(props.total_memory),
            )
        except Exception as exc:
            data["kernel_error"] = first_line(exc)
        if "kernel_error" not in data:
            try:
                x = torch.arange(64, device=f"cuda:{index}", dtype=torch.float32)
                total = float((x * 2).sum().item())
                torch.cuda.synchronize(index)
                data["kernel_ok"] = total == 4032.0
                if not data["kernel_ok"]:
                    data["kernel_error"] = f"wrong result: {total!r} instead of 4032.0"
            except Exception as exc:
                data["kernel_ok"] = False
                data["kernel_error"] = first_line(exc)
    data["warnings"] = [str(w.message).strip() for w in caught]
    emit("device", **data)


LIBRARIES = (
    "libcuda.so",
    "libcudart",
    "libcudnn",
    "libnvJitLink",
    "libcublas",
    "libnccl",
    "libnvrtc",
    "libcusparse",
)
PACKAGES = (
    "torchvision",  # move with torch: a fix that changes torch pins the matching ones
    "torchaudio",
    "flash-attn",
    "flash_attn",
    "xformers",
    "bitsandbytes",
    "triton",
    "deepspeed",
    "apex",
    "ninja",
    "vllm",
)


def loaded_libraries() -> list[dict[str, str]]:
    """The CUDA libraries this process has mapped (after CUDA init): what torch really uses."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return parse_maps(maps.read())
    except OSError:
        return []


def parse_maps(text: str) -> list[dict[str, str]]:
    paths = {as_named(line.split()[-1]) for line in text.splitlines() if "/" in line and ".so" in line}
    out = []
    for path in sorted(paths):
        base = os.path.basename(path)
        for lib in LIBRARIES:
            if base.startswith(lib):
                out.append({"library": lib.replace(".so", ""), "path": path})
    return out


def nvidia_wheels() -> tuple[list[str], dict[str, str | None]]:
    """What the torch wheel asks for (Requires-Dist nvidia-*) and what is installed: read from
    the metadata, so it answers even when `import torch` fails."""
    try:
        from importlib import metadata

        requires = [r for r in (metadata.requires("torch") or []) if r.lower().startswith("nvidia-")]
    except Exception:
        return [], {}
    installed = {}
    for req in requires:
        name = re.split(r"[\s;=<>~!\[]", req, maxsplit=1)[0]
        installed[name] = dist_version(name)
    return requires, installed


def _runnable(path: str) -> bool:
    return os.path.isfile(on_disk(path)) and os.access(on_disk(path), os.X_OK)


def toolchain() -> dict[str, object]:
    """nvcc (CUDA_HOME first, as torch.utils.cpp_extension looks) and ninja: extension builds."""
    import subprocess

    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    path = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    # torch.utils.cpp_extension's order: CUDA_HOME/CUDA_PATH decides alone when set.
    candidates = (
        [os.path.join(home, "bin", "nvcc")]
        if home
        else [*(os.path.join(d, "nvcc") for d in path), "/usr/local/cuda/bin/nvcc"]
    )
    nvcc = next((c for c in candidates if _runnable(c)), None)
    release = None
    if nvcc:
        try:
            out = subprocess.run(
                [on_disk(nvcc), "--version"], capture_output=True, text=True, timeout=10
            ).stdout
            for token in out.replace(",", " ").split():
                if token[:1].isdigit() and "release" in out and token.count(".") == 1:
                    release = token
                    break
        except (OSError, subprocess.SubprocessError):
            pass
    ninja = any(_runnable(os.path.join(d, "ninja")) for d in path) or dist_version("ninja") is not None
    return {"nvcc": nvcc, "nvcc_version": release, "cuda_home": home, "ninja": ninja}


def frameworks_stage() -> None:
    """Import TensorFlow and JAX (seconds each) and ask each how many GPUs it sees."""
    seen: dict[str, dict[str, object]] = {}
    if dist_version("tensorflow") or dist_version("tensorflow-cpu"):
        try:
            import tensorflow as tf  # type: ignore[import-not-found, import-untyped, unused-ignore]

            seen["tensorflow"] = {"gpu_count": len(tf.config.list_physical_devices("GPU"))}
        except BaseException as exc:
            seen["tensorflow"] = {"gpu_count": 0, "error": first_line(exc)}
    if dist_version("jax"):
        try:
            import jax  # type: ignore[import-not-found, import-untyped, unused-ignore]

            try:
                seen["jax"] = {"gpu_count": len(jax.devices("gpu"))}
            except RuntimeError as exc:  # "Unknown backend: 'gpu' requested"
                seen["jax"] = {"gpu_count": 0, "error": first_line(exc)}
        except BaseException as exc:
            seen["jax"] = {"gpu_count": 0, "error": first_line(exc)}
    emit("frameworks", **seen)


def environment_stage(import_error: str | None = None) -> None:
    required, installed = nvidia_wheels()
    data: dict[str, object] = {
        "libraries": loaded_libraries(),
        "wheels": {"required": required, "installed": installed},
        "wheel_sites": wheel_sites(["torch", *installed]),
        "torch_dist": dist_version("torch"),
        "toolchain": toolchain(),
        "packages": {p: v for p in PACKAGES if (v := dist_version(p))},
    }
    named = library_named(import_error or "")
    if named:
        data["import_library"] = library_copies(named)
    emit("environment", **data)


_SONAME = re.compile(r"\b(lib[A-Za-z0-9_+-]+\.so(?:\.\d+)*)")


_VERSIONED = re.compile(r"undefined symbol: \S+, version (lib[A-Za-z0-9_+-]+\.so(?:\.\d+)*)")


def library_named(error: str) -> str | None:
    """The shared library an import error is about: 'libcudnn.so.9', or for "X.so: undefined
    symbol: __nvJitLinkCreate_12_8, version libnvJitLink.so.12" the one that lacks the symbol."""
    match = _VERSIONED.search(error) or _SONAME.search(error)
    return match.group(1) if match else None


def library_copies(name: str) -> dict[str, object]:
    """Where this process would find ``name``: LD_LIBRARY_PATH (searched first by the dynamic
    loader) and the wheels in site-packages (where torch preloads its own copies from)."""
    stem = name.split(".so")[0] + ".so"

    def matches(folder: str, disk: str) -> list[str]:
        try:
            names = sorted(os.listdir(disk))
        except OSError:
            return []
        return [os.path.join(folder, n) for n in names if n == name or n.startswith(stem + ".")]

    ld = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if d]
    on_path = [hit for folder in ld for hit in matches(folder, on_disk(folder))]
    in_wheels: list[str] = []
    for site in dict.fromkeys(p for p in sys.path if p):  # sys.path holds real paths
        folders = [os.path.join(site, "torch", "lib")]
        nvidia = os.path.join(site, "nvidia")
        if os.path.isdir(nvidia):
            folders += [os.path.join(nvidia, pkg, "lib") for pkg in sorted(os.listdir(nvidia))]
        in_wheels += [as_named(hit) for folder in folders for hit in matches(folder, folder)]
    return {"library": name, "on_ld_library_path": on_path, "in_wheels": in_wheels}


def wheel_sites(names: list[str]) -> dict[str, str]:
    """The site-packages folder each distribution is installed in."""
    out: dict[str, str] = {}
    try:
        from importlib import metadata
    except ImportError:
        return out
    for name in names:
        try:
            out[name] = str(metadata.distribution(name).locate_file(""))
        except Exception:
            continue
    return out


def main() -> None:
    started = time.perf_counter()
    emit(
        "start",
        python_version=platform.python_version(),
        executable=sys.executable,
        conda_env=os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        tensorflow=tensorflow_info(),
        jax=jax_info(),
    )
    # torch warns once (CUDA initialisation, an unsupported GPU): catch it from the first call on,
    # or the warning goes to stderr and the later stages never see it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import torch  # type: ignore[import-not-found, unused-ignore]
        except BaseException as exc:
            error = first_line(exc)
            emit("torch", import_error=error)
            environment_stage(import_error=error)
            emit("done", seconds=time.perf_counter() - started)
            return
        info = torch_stage(torch)
    info["warnings"] = [str(w.message).strip() for w in caught]
    emit("torch", import_seconds=time.perf_counter() - started, **info)
    if "--no-cuda" not in sys.argv:
        cuda_stage(torch)
    environment_stage()
    if "--frameworks" in sys.argv:
        frameworks_stage()
    emit("done", seconds=time.perf_counter() - started)


if __name__ == "__main__":
    main()
