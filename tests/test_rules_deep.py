"""The deeper rules, each fed recorded file contents and worker outputs: failing and healthy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.compat.engine import diagnose
from advisor.knowledge.cards import load_cards
from advisor.knowledge.compat import load_compat
from advisor.probe.host import probe_host
from advisor.probe.worker.target_worker import parse_maps
from advisor.snapshot import (
    FrameworkInfo,
    Host,
    LoadedLibrary,
    NvmlSnapshot,
    PythonEnvironment,
    Snapshot,
    TargetPython,
    TorchInfo,
    have,
)
from tests.machines import build_root
from tests.test_rules import gpu

COMPAT = load_compat()
CARDS = load_cards(include_user_config=False).cards
TORCH = TorchInfo(
    version="2.4.1+cu121",
    cuda_version="12.1",
    arch_list=["sm_80", "sm_86", "sm_90"],
    cuda_available=True,
    device_count=1,
)
SITE = "/venv/lib/python3.11/site-packages"


def snap(
    *,
    host: dict[str, Any] | None = None,
    env: PythonEnvironment | None = None,
    gpus: list[Any] | None = None,
    init_error: str | None = None,
    cuda: int = 12040,
    torch: TorchInfo | None = TORCH,
    tf: FrameworkInfo | None = None,
    jax: FrameworkInfo | None = None,
) -> Snapshot:
    return Snapshot(
        advisor_version="test",
        taken_at="2026-01-01T00:00:00+00:00",
        host=Host(**{"pci_gpus": have([]), **_readings(host or {})}),
        nvml=NvmlSnapshot(
            init_error=init_error,
            init_detail="x" if init_error else None,  # type: ignore[arg-type]
            driver_version=have("550.54.14"),
            cuda_driver_version=have(cuda),
            gpus=[] if init_error else (gpus if gpus is not None else [gpu()]),
        ),
        target=TargetPython(
            executable="/venv/bin/python", status="ok", torch=torch, environment=env, tensorflow=tf, jax=jax
        ),
    )


_READ_FIELDS = ("pci_gpus", "loaded_modules", "device_nodes", "kernel_module_version")


def _readings(host: dict[str, Any]) -> dict[str, Any]:
    """Plain values for the host fields that are readings, as the probe would have read them."""
    return {k: have(v) if k in _READ_FIELDS and not isinstance(v, dict) else v for k, v in host.items()}


def found(s: Snapshot, **options: bool) -> dict[str, Any]:
    return {f.id: f for f in diagnose(s, COMPAT, CARDS, **options).findings}


# --- pending reboot, kernel modules --------------------------------------------------------------

PROC_VERSION = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023"


def test_reboot_pending_read_from_recorded_files(tmp_path: Path) -> None:
    root = build_root(
        tmp_path,
        {
            "kernel_module": PROC_VERSION,
            "files": [
                "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.127.05",
                "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
            ],
            "modules": ["nvidia_uvm", "nvidia", "nouveau", "snd_hda_intel"],
        },
    )
    host = probe_host(root, environ={})
    assert host.nvml_libraries == ["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.550.127.05"]
    assert host.loaded_modules.value == ["nouveau", "nvidia", "nvidia_uvm"]
    failing = found(snap(host=host.model_dump(), init_error="lib_rm_version_mismatch"))
    assert failing["driver-reboot-pending"].severity == "fail"
    assert "535.104.05" in failing["driver-reboot-pending"].summary
    warned = found(snap(host=host.model_dump()))
    assert warned["driver-reboot-pending"].severity == "warn"
    assert warned["nouveau-loaded"].severity == "warn"


def test_no_reboot_needed_when_versions_agree() -> None:
    host = {
        "kernel_module_version": PROC_VERSION,
        "nvml_libraries": ["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.104.05"],
    }
    assert "driver-reboot-pending" not in found(snap(host=host))


def test_uvm_missing_after_suspend() -> None:
    host = {"loaded_modules": ["nvidia", "nvidia_modeset"], "device_nodes": ["nvidia0", "nvidiactl"]}
    f = found(snap(host=host))["uvm-missing"]
    assert f.severity == "fail" and "CUDA unknown error" in (f.error_text or "")
    healthy = {"loaded_modules": ["nvidia", "nvidia_uvm"], "device_nodes": ["nvidia0", "nvidia-uvm"]}
    assert "uvm-missing" not in found(snap(host=healthy))


# --- library forensics ---------------------------------------------------------------------------

MAPS = f"""\
7f0a1000-7f0a2000 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14
7f0b1000-7f0b2000 r-xp 00000000 08:01 2 {SITE}/nvidia/cuda_runtime/lib/libcudart.so.12
7f0b3000-7f0b4000 r--p 00000000 08:01 2 {SITE}/nvidia/cuda_runtime/lib/libcudart.so.12
7f0c1000-7f0c2000 r-xp 00000000 08:01 3 /usr/local/cuda-12.1/lib64/libnvJitLink.so.12
7f0d1000-7f0d2000 r-xp 00000000 08:01 4 {SITE}/nvidia/cudnn/lib/libcudnn.so.9
7f0e1000-7f0e2000 r-xp 00000000 08:01 5 /usr/lib/x86_64-linux-gnu/libc.so.6
7f0f1000-7f0f2000 rw-p 00000000 00:00 0 [heap]
"""


def test_maps_parsing() -> None:
    libs = {(d["library"], d["path"]) for d in parse_maps(MAPS)}
    assert ("libcudart", f"{SITE}/nvidia/cuda_runtime/lib/libcudart.so.12") in libs
    assert ("libnvJitLink", "/usr/local/cuda-12.1/lib64/libnvJitLink.so.12") in libs
    assert ("libcuda", "/usr/lib/x86_64-linux-gnu/libcuda.so.550.54.14") in libs
    assert len(libs) == 4  # libc and anonymous maps are not CUDA libraries


def test_shadowed_nvjitlink_from_ld_library_path() -> None:
    env = PythonEnvironment(
        libraries=[LoadedLibrary(**d) for d in parse_maps(MAPS)],
        wheels_required=["nvidia-nvjitlink-cu12==12.4.127"],
    )
    f = found(snap(env=env, host={"environment": {"LD_LIBRARY_PATH": "/usr/local/cuda-12.1/lib64"}}))
    shadow = f["library-shadowing"]
    assert shadow.severity == "warn"
    assert "undefined symbol: __nvJitLinkAddData_12_1" in (shadow.error_text or "")
    assert "LD_LIBRARY_PATH" in shadow.full_fix()


def test_no_shadowing_when_everything_comes_from_the_wheels() -> None:
    clean = [LoadedLibrary(**d) for d in parse_maps(MAPS) if "/usr/local/cuda" not in d["path"]]
    env = PythonEnvironment(libraries=clean, wheels_required=["nvidia-nvjitlink-cu12==12.4.127"])
    assert "library-shadowing" not in found(snap(env=env))


def test_wheel_versions_against_torchs_requirements() -> None:
    required = ["nvidia-cublas-cu12==12.4.5.8", "nvidia-cudnn-cu12==9.1.0.70"]
    bad = PythonEnvironment(
        wheels_required=required,
        wheels_installed={"nvidia-cublas-cu12": "12.6.4.1", "nvidia-cudnn-cu12": "9.1.0.70"},
    )
    f = found(snap(env=bad))["nvidia-wheel-mismatch"]
    assert f.evidence == ["nvidia-cublas-cu12 12.6.4.1 installed; torch needs ==12.4.5.8"]
    # the wheels torch was built with, exactly: not a --force-reinstall of everything
    assert f.full_fix().endswith("/venv/bin/python -m pip install nvidia-cublas-cu12==12.4.5.8")
    good = PythonEnvironment(
        wheels_required=required,
        wheels_installed={"nvidia-cublas-cu12": "12.4.5.8", "nvidia-cudnn-cu12": "9.1.0.70"},
    )
    assert "nvidia-wheel-mismatch" not in found(snap(env=good))


def test_forward_compat_on_geforce_is_error_804() -> None:
    env = PythonEnvironment(
        libraries=[LoadedLibrary(library="libcuda", path="/usr/local/cuda-12.9/compat/libcuda.so.575.57.08")]
    )
    f = found(snap(env=env))["forward-compat-unsupported"]
    assert f.error_text == "forward compatibility was attempted on non supported HW"
    tesla = gpu(name=have("NVIDIA A100-SXM4-80GB"), compute_capability=have("8.0"), brand=have("nvidia"))
    assert found(snap(env=env, gpus=[tesla]))["forward-compat"].severity == "info"


# --- extension builds ----------------------------------------------------------------------------


def test_nvcc_mismatch_warns_and_fails_only_for_extension_builds() -> None:
    def nvcc(v: str | None, **options: bool) -> dict[str, Any]:
        env = PythonEnvironment(nvcc="/usr/local/cuda/bin/nvcc" if v else None, nvcc_version=v, ninja=True)
        return found(snap(env=env), **options)

    major = nvcc("11.8")["nvcc-mismatch"]
    assert major.severity == "warn" and "mismatches the version" in (major.error_text or "")
    assert nvcc("11.8", build_extensions=True)["nvcc-mismatch"].severity == "fail"
    assert nvcc("12.4", build_extensions=True)["nvcc-mismatch"].severity == "warn"
    assert "nvcc-mismatch" not in nvcc("12.1")
    assert nvcc(None)["no-nvcc"].severity == "info"
    assert nvcc(None, build_extensions=True)["no-nvcc"].severity == "fail"
    # the other way out: a torch built for the toolkit that is there
    assert "download.pytorch.org/whl/cu118" in major.full_fix()


def test_a_cuda13_toolkit_beside_a_cuda12_torch_is_only_a_warning() -> None:
    """This development VM's own situation: an unrelated CUDA 13 nvcc never fails a preflight."""
    env = PythonEnvironment(nvcc="/usr/local/cuda/bin/nvcc", nvcc_version="13.0", ninja=False)
    report = diagnose(snap(env=env), COMPAT, CARDS)
    assert {f.id: f.severity for f in report.findings}["nvcc-mismatch"] == "warn"
    assert report.exit_code == 0


def test_ninja_missing_is_a_note() -> None:
    f = found(snap(env=PythonEnvironment(nvcc="/x/nvcc", nvcc_version="12.1", ninja=False)))
    assert f["no-ninja"].severity == "info" and "pip install ninja" in f["no-ninja"].full_fix()


# --- features by compute capability --------------------------------------------------------------


def test_flash_attn_on_turing_warns_with_its_own_error() -> None:
    turing = gpu(name=have("NVIDIA GeForce RTX 2080 Ti"), compute_capability=have("7.5"))
    env = PythonEnvironment(packages={"flash-attn": "2.5.8"})
    f = found(snap(env=env, gpus=[turing]))["package-needs-newer-gpu"]
    assert f.error_text == "FlashAttention only supports Ampere GPUs or newer."
    assert "FlashAttention-2: no (needs 8.0+)" in f.evidence


def test_triton_on_pascal_quotes_torch_compile_error() -> None:
    pascal = gpu(name=have("NVIDIA GeForce GTX 1080 Ti"), compute_capability=have("6.1"))
    f = found(snap(env=PythonEnvironment(packages={"triton": "3.0.0"}), gpus=[pascal]))
    assert "too old to be supported by the triton GPU compiler" in (
        f["package-needs-newer-gpu"].error_text or ""
    )


def test_feature_table_on_a_capable_gpu() -> None:
    a100 = gpu(name=have("NVIDIA A100-SXM4-80GB"), compute_capability=have("8.0"))
    f = found(snap(env=PythonEnvironment(packages={"flash-attn": "2.5.8"}), gpus=[a100]))
    assert "package-needs-newer-gpu" not in f
    assert "FP8: no (needs 8.9+)" in f["gpu-features"].evidence


# --- containers, WSL, other frameworks -----------------------------------------------------------


def test_wsl1_and_hidden_container_gpus() -> None:
    assert found(snap(host={"wsl": "wsl1"}))["wsl1"].severity == "fail"
    hidden = {"container": "docker", "environment": {"NVIDIA_VISIBLE_DEVICES": "void"}}
    assert found(snap(host=hidden))["container-gpus-hidden"].severity == "warn"
    assert "wsl1" not in found(snap(host={"wsl": "wsl2"}))


def test_tensorflow_and_jax_built_for_a_newer_cuda_than_the_driver() -> None:
    tf = FrameworkInfo(version="2.15.1", cuda_version="12.2", cudnn_version="8")
    jax = FrameworkInfo(version="0.4.30", cuda_version="12")
    f = found(snap(cuda=11040, tf=tf, jax=jax))
    assert f["tensorflow-driver-too-old"].severity == "fail"
    assert f["jax-driver-too-old"].severity == "fail"
    assert "tensorflow-driver-too-old" not in found(snap(cuda=12040, tf=tf, jax=jax))


def test_framework_that_sees_no_gpu() -> None:
    tf = FrameworkInfo(version="2.15.1", cuda_version="12.2", gpu_count=0)
    f = found(snap(tf=tf))["tensorflow-sees-no-gpu"]
    assert "Cannot dlopen some GPU libraries" in (f.error_text or "")


def test_a_toolkit_older_than_the_gpu_cannot_build_extensions_for_it() -> None:
    """tiny-cuda-nn#245 (NVIDIA's maintainer): torch's cu116 wheel runs on an RTX 4090 (its sm_86
    SASS runs on 8.9), but building an extension for 8.9 needs CUDA 11.8."""
    ada = gpu(name=have("NVIDIA GeForce RTX 4090"), compute_capability=have("8.9"))
    old = TorchInfo(
        version="1.12.1+cu116", cuda_version="11.6", arch_list=["sm_80", "sm_86"], cuda_available=True
    )
    env = PythonEnvironment(nvcc="/usr/local/cuda/bin/nvcc", nvcc_version="11.6", ninja=True)
    f = found(snap(env=env, gpus=[ada], torch=old))
    assert f["torch-archs"].severity == "ok"  # the wheel itself runs
    assert f["nvcc-too-old-for-gpu"].severity == "warn"
    assert f["nvcc-too-old-for-gpu"].error_text == "nvcc fatal   : Unsupported gpu architecture 'compute_89'"
    asked = found(snap(env=env, gpus=[ada], torch=old), build_extensions=True)
    assert asked["nvcc-too-old-for-gpu"].severity == "fail"


def test_tensorflow_and_jax_fixes_name_the_newest_build_the_driver_runs() -> None:
    """On R470 (CUDA 11.4): TensorFlow 2.14 is the last CUDA 11.8 line (driver >= 450.80.02); no JAX
    CUDA 12 wheel runs (>= 525), so its fix is the driver."""
    tf = FrameworkInfo(version="2.15.1", cuda_version="12.2", cudnn_version="8")
    jax = FrameworkInfo(version="0.4.30", cuda_version="12")
    s = snap(cuda=11040, tf=tf, jax=jax)
    s = s.model_copy(update={"nvml": s.nvml.model_copy(update={"driver_version": have("470.199.02")})})
    f = found(s)
    assert "'tensorflow[and-cuda]==2.14.*'" in f["tensorflow-driver-too-old"].full_fix()
    assert f["jax-driver-too-old"].full_fix().startswith("upgrade the NVIDIA driver to R580")


def test_a_cut_arch_entry_is_no_architecture() -> None:
    from advisor.compat.arch import parse_entry

    assert parse_entry("sm_7") is None and parse_entry("sm_") is None
    assert parse_entry("sm_86") is not None
