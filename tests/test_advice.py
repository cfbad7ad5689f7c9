"""The PyTorch build and driver advisor recommends, on the table of tests/advice_cases.yaml: each
row through the planner, its command checked as a command, and the same row end to end through
`advisor check` on a machine built from it."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from advisor.compat.advice import Installed, Machine, TorchPlan, plan
from advisor.compat.arch import gpu_coverage
from advisor.knowledge.cards import load_cards
from advisor.knowledge.compat import load_compat
from advisor.knowledge.match import find_card
from tests.conftest import Cli, fix_text
from tests.machines import install_machine

COMPAT = load_compat()
CARDS = load_cards(include_user_config=False).cards
ROWS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "advice_cases.yaml").read_text())
TODAY = "2026-12"


def cc_of(gpu: str) -> str:
    return gpu if gpu[0].isdigit() else find_card(gpu, CARDS).compute_capability


def variant_arch(version: str) -> tuple[str, ...]:
    """The arch list of an official wheel, from the knowledge (rows may give their own)."""
    release = COMPAT.torch_release(version)
    tag = version.split("+")[1] if "+" in version else ""
    variant = next((v for v in release.variants if v.tag == tag), None) if release else None
    return tuple(variant.arch_list or []) if variant else ()


def installed_of(row: dict[str, Any]) -> Installed | None:
    version = row.get("torch")
    if version is None:
        return None
    tag = version.split("+")[1] if "+" in version else ""
    cuda = row["cuda"] if "cuda" in row else (f"{tag[2:-1]}.{tag[-1]}" if tag.startswith("cu") else None)
    return Installed(
        version=version,
        cuda=cuda,
        arch_list=tuple(row.get("arch_list") or variant_arch(version)),
        torchvision=row.get("torchvision"),
        torchaudio=row.get("torchaudio"),
    )


def machine_of(row: dict[str, Any], python: str = "python3") -> Machine:
    driver = row.get("driver")
    return Machine(
        ccs=tuple(cc_of(g) for g in row["gpus"]),
        driver=driver,
        driver_cuda=COMPAT.max_cuda_for_driver(driver) if driver else None,
        today=TODAY,
        python=python,
    )


def test_the_table_is_large_and_sourced() -> None:
    assert len(ROWS) >= 60
    assert len({r["name"] for r in ROWS}) == len(ROWS)
    for row in ROWS:
        assert row["reason"] and row["source"], row["name"]


def check_command(
    argv: tuple[str, ...], row: dict[str, Any], torch: str | None, cuda: str, nightly: bool
) -> None:
    assert shlex.split(shlex.join(argv)) == list(argv)  # survives a shell as one command
    assert argv[1:4] == ("-m", "pip", "install") and "--force-reinstall" not in argv
    index = argv[argv.index("--index-url") + 1]
    tag = "cu" + cuda.replace(".", "")
    assert index == f"https://download.pytorch.org/whl/{'nightly/' if nightly else ''}{tag}"
    specs = [a for a in argv[4 : argv.index("--index-url")] if a != "--pre"]
    assert ("--pre" in argv) == nightly
    reqs = {Requirement(s).name: Requirement(s) for s in specs}
    assert "torch" in reqs
    for req in reqs.values():
        for spec in req.specifier:
            pinned = spec.version.rstrip(".*")
            assert not Version(pinned.split("+")[0]).is_devrelease, "never pin a nightly on a stable index"
            if "+" in spec.version:
                assert spec.version.endswith("+" + tag)
    release = COMPAT.torch_release(torch) if torch and not nightly else None
    for name in ("torchvision", "torchaudio"):
        assert (name in reqs) == (row.get(name) is not None), f"{name} moves with torch"
        minor = getattr(release, name) if release else None
        if name in reqs and minor:
            assert str(reqs[name].specifier).removeprefix("==").startswith(minor + ".")


def assert_plan(p: TorchPlan | None, expect: dict[str, Any], row: dict[str, Any]) -> None:
    if expect["verdict"] == "none":
        assert p is None, p
        return
    assert p is not None and p.verdict == expect["verdict"], p
    if p.verdict == "keep":
        return
    if "driver" in expect:
        assert p.driver is not None and p.driver.branch.branch == expect["driver"], p.driver
    build = p.build
    if "cuda" in expect:
        assert build is not None, p
        assert (build.cuda, build.nightly) == (expect["cuda"], bool(expect.get("nightly")))
        if not build.nightly:
            assert build.torch == expect["torch"]
        check_command(build.argv, row, build.torch, build.cuda, build.nightly)
        if "specs" in expect:
            end = build.argv.index("--index-url")
            assert [a for a in build.argv[4:end] if a != "--pre"] == expect["specs"]
    else:
        assert build is None, "the installed build then runs as it is"
    if "alt" in expect:
        alt = p.alternative
        assert alt is not None and (alt.torch, alt.cuda) == (expect["alt"]["torch"], expect["alt"]["cuda"])
        check_command(alt.argv, row, alt.torch, alt.cuda, False)


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_advice(row: dict[str, Any]) -> None:
    assert_plan(plan(COMPAT, machine_of(row), installed_of(row)), row["expect"], row)


# --- the same rows end to end, through advisor check on a machine built from each ----------------


def fake_machine(row: dict[str, Any]) -> dict[str, Any]:
    """NVML, the PCI bus and a fake torch that behaves as the real one would on that machine."""
    m = machine_of(row)
    gpus, pci = [], []
    for i, gpu in enumerate(row["gpus"]):
        card = None if gpu[0].isdigit() else find_card(gpu, CARDS)
        major, minor = (int(x) for x in cc_of(gpu).split("."))
        device = card.pci_device_ids[0] if card and card.pci_device_ids else "0x0000"
        gpus.append(
            {
                "name": card.nvml_names[0] if card and card.nvml_names else "NVIDIA GPU",
                "pci_device_id": int(device, 16),
                "cc": [major, minor],
                "bus_id": f"00000000:{i + 1:02X}:00.0",
                "brand": 2 if card and card.segment == "datacenter" else 5,
            }
        )
        pci.append({"address": f"0000:{i + 1:02x}:00.0", "device": device, "driver": "nvidia"})
    machine: dict[str, Any] = {"host": {"pci": pci, "dev": ["nvidia0", "nvidiactl", "nvidia-uvm"]}}
    if any((a := COMPAT.architecture(cc)) is not None and a.tegra for cc in m.ccs):
        machine = {"host": {"files": {"/etc/nv_tegra_release": "# R36 (release), REVISION: 4.7\n"}}}
        return machine | {"torch": {"missing": True}}
    if m.driver is not None:
        cuda = Version(m.driver_cuda or "0")
        machine["nvml"] = {
            "driver": m.driver,
            "cuda_driver_version": cuda.major * 1000 + cuda.minor * 10,
            "gpus": gpus,
        }
    else:
        machine["nvml"] = {"init_error": "NoPermission"}
    installed = installed_of(row)
    if installed is None:
        return machine | {"torch": {"missing": True}}
    torch: dict[str, Any] = {
        "version": installed.version,
        "cuda": installed.cuda,
        "arch_list": list(installed.arch_list),
    }
    runs = installed.cuda is not None and (m.driver is None or _driver_runs(m, installed.cuda))
    torch["available"] = runs
    if installed.cuda is not None and not runs:
        found = machine["nvml"]["cuda_driver_version"]
        torch["init_warning"] = (
            f"CUDA initialization: The NVIDIA driver on your system is too old (found version {found}). "
            "Please update your GPU driver by downloading and installing a new version from the URL: "
            "http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to "
            "install a PyTorch version that has been compiled with your version of the CUDA driver."
        )
    if runs:
        torch["devices"] = [
            {"name": g["name"], "cc": g["cc"], "memory": 1 << 34}
            | (
                {}
                if gpu_coverage(COMPAT, list(installed.arch_list), f"{g['cc'][0]}.{g['cc'][1]}") != "none"
                else {"kernel_error": "CUDA error: no kernel image is available for execution on the device"}
            )
            for g in gpus
        ]
    machine["torch"] = torch
    packages = {k: row[k] for k in ("torchvision", "torchaudio") if row.get(k)}
    if packages:  # real dist-info metadata for the companions, as pip leaves it
        machine["wheels"] = {"torch_requires": [], "installed": packages}
    return machine


def _driver_runs(m: Machine, cuda: str) -> bool:
    from advisor.compat.arch import driver_floor

    floor = driver_floor(COMPAT, cuda)
    return floor is not None and Version(m.driver or "0") >= Version(floor)


@pytest.mark.parametrize("row", ROWS, ids=[r["name"] for r in ROWS])
def test_advice_end_to_end(
    row: dict[str, Any], cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_machine(fake_machine(row), tmp_path, monkeypatch)
    report = json.loads(cli("check", "--json").stdout)["result"]
    p = plan(COMPAT, machine_of(row, python=sys.executable), installed_of(row))
    fixes = [fix_text(f) for f in report["findings"] if f["severity"] in ("fail", "warn")]
    build_ids = {"cpu-only-torch", "arch-not-compiled", "gpu-too-new-for-cuda", "driver-too-old-for-cuda"}
    found = {f["id"] for f in report["findings"] if f["severity"] == "fail"}
    if p is None or p.verdict == "keep":
        assert not build_ids & found, report["findings"]
        return
    command = shlex.join(p.build.argv) if p.build else None
    if command is not None:
        assert any(command in fix for fix in fixes), (command, fixes)
    if p.verdict == "driver_first":
        assert any(f"upgrade the NVIDIA driver to R{p.driver.branch.branch}" in fix for fix in fixes), fixes  # type: ignore[union-attr]
