"""The host probe on recorded /proc and /sys trees, and TensorFlow/JAX found without importing them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from advisor.probe.host import probe_host
from advisor.probe.target import run_target_probe
from tests.machines import FAKES, TORCH_SITE, build_root


def test_gpu_on_the_bus_with_nouveau(tmp_path: Path) -> None:
    root = build_root(
        tmp_path, {"pci": [{"address": "0000:01:00.0", "device": "0x2204", "driver": "nouveau"}]}
    )
    host = probe_host(root, environ={"CUDA_VISIBLE_DEVICES": "1", "HOME": "/root"})
    assert host.pci_gpus.ok
    assert [(p.device_id, p.driver) for p in host.pci_nvidia] == [("0x2204", "nouveau")]
    assert host.environment == {"CUDA_VISIBLE_DEVICES": "1"}
    assert host.cpu_cores == 8 and host.memory_total_bytes == 263855696 * 1024
    assert host.os == "Ubuntu 22.04.4 LTS"


def test_non_nvidia_and_non_display_devices_are_ignored(tmp_path: Path) -> None:
    root = build_root(tmp_path, {"pci": [{"address": "0000:01:00.0", "device": "0x2204"}]})
    audio = root / "sys/bus/pci/devices/0000:01:00.1"
    audio.mkdir()
    (audio / "vendor").write_text("0x10de\n")
    (audio / "class").write_text("0x040300\n")  # the HDMI audio function of the same card
    intel = root / "sys/bus/pci/devices/0000:00:02.0"
    intel.mkdir()
    (intel / "vendor").write_text("0x8086\n")
    (intel / "class").write_text("0x030000\n")
    assert [p.address for p in probe_host(root, environ={}).pci_nvidia] == ["0000:01:00.0"]


def test_no_sysfs_means_unknown_not_absent(tmp_path: Path) -> None:
    host = probe_host(tmp_path, environ={})
    assert host.pci_gpus.unavailable == "not_found" and host.pci_gpus.value is None
    assert host.device_nodes.unavailable == "not_found"


@pytest.mark.parametrize("path", ["dev", "proc/modules", "sys/bus/pci/devices"])
def test_an_unreadable_read_is_unknown_with_its_reason(tmp_path: Path, path: str) -> None:
    """An unreadable /dev is not "no device nodes": the reading keeps why it failed."""
    root = build_root(tmp_path, {"dev": ["nvidia0"], "modules": ["nvidia"], "unreadable": [path]})
    host = probe_host(root, environ={})
    reading = {
        "dev": host.device_nodes,
        "proc/modules": host.loaded_modules,
        "sys/bus/pci/devices": host.pci_gpus,
    }
    assert reading[path].unavailable == "error" and reading[path].value is None
    assert path.split("/")[-1] in (reading[path].detail or "")


def test_secure_boot_and_tegra_release_are_read(tmp_path: Path) -> None:
    var = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
    root = build_root(tmp_path, {"files": {"/etc/nv_tegra_release": "# R36 (release), REVISION: 4.7\n"}})
    efivar = root / var.lstrip("/")
    efivar.parent.mkdir(parents=True)
    efivar.write_bytes(b"\x06\x00\x00\x00\x01")  # 4 attribute bytes, then 1 = enabled
    host = probe_host(root, environ={})
    assert host.secure_boot.value is True
    assert host.tegra_release == "# R36 (release), REVISION: 4.7"
    efivar.write_bytes(b"\x06\x00\x00\x00\x00")
    assert probe_host(root, environ={}).secure_boot.value is False


@pytest.mark.parametrize(
    ("version", "kind"),
    [
        ("Linux version 5.15.153.1-microsoft-standard-WSL2 (root@...)", "wsl2"),
        ("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com)", "wsl1"),
        ("Linux version 6.8.0-45-generic (buildd@lcy02)", None),
    ],
)
def test_wsl(tmp_path: Path, version: str, kind: str | None) -> None:
    root = build_root(tmp_path, {})
    (root / "proc/version").write_text(version + "\n")
    assert probe_host(root, environ={}).wsl == kind


def test_containers(tmp_path: Path) -> None:
    root = build_root(
        tmp_path, {"kernel_module": "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14"}
    )
    assert probe_host(root, environ={}).container is None
    (root / ".dockerenv").write_text("")
    host = probe_host(root, environ={})
    assert host.container == "docker"
    assert "550.54.14" in (host.kernel_module_version.value or "")
    assert (
        probe_host(build_root(tmp_path / "k", {}), environ={"KUBERNETES_SERVICE_HOST": "x"}).container
        == "kubernetes"
    )


def test_tensorflow_and_jax_are_read_without_importing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "torch.json"
    config.write_text(json.dumps({"missing": True}))
    monkeypatch.setenv("ADVISOR_FAKE_TORCH", str(config))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TORCH_SITE), str(FAKES / "frameworks_site")]))
    t = run_target_probe(sys.executable, 30)
    assert t.status == "ok", t
    assert t.tensorflow is not None and t.tensorflow.version == "2.15.1"
    assert (t.tensorflow.cuda_version, t.tensorflow.cudnn_version) == ("12.2", "8")
    assert t.jax is not None and (t.jax.version, t.jax.cuda_version) == ("0.4.30", "12")


def test_frameworks_flag_asks_tensorflow_for_its_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import Cli
    from tests.machines import install_machine, load_machine

    install_machine(load_machine("healthy_rtx3090"), tmp_path, monkeypatch)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TORCH_SITE), str(FAKES / "frameworks_site")]))
    monkeypatch.setenv("ADVISOR_FAKE_TF_IMPORT", "allow")
    body = Cli().json("check", "--frameworks", code=1)["result"]
    assert body["snapshot"]["target"]["tensorflow"]["gpu_count"] == 0
    f = next(x for x in body["findings"] if x["id"] == "tensorflow-sees-no-gpu")
    assert f["severity"] == "fail" and "Cannot dlopen some GPU libraries" in f["error_text"]
