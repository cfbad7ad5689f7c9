"""The compatibility data is complete and consistent, and the questions asked of it."""

from __future__ import annotations

import pytest
from packaging.version import Version

from advisor.compat.arch import coverage, parse_entry, suggest_torch
from advisor.knowledge.compat import load_compat

K = load_compat()


def test_every_row_is_sourced() -> None:
    for row in K.cuda_toolkits:
        assert row.source.startswith("https://"), row
    for arch in K.architectures:
        assert all(s.startswith("https://") for s in arch.sources), arch
    for release in K.torch_releases:
        for v in release.variants:
            assert v.source is None or v.source.startswith("https://"), (release.torch, v)
    for key, message in K.messages.items():
        assert message.source.startswith("https://"), key


def test_driver_table_is_monotonic() -> None:
    rows = sorted(K.cuda_toolkits, key=lambda r: Version(r.cuda))
    drivers = [Version(r.linux_min_driver) for r in rows]
    assert drivers == sorted(drivers)


def test_every_torch_variant_has_a_driver_row() -> None:
    for release in K.torch_releases:
        for v in release.variants:
            assert K.toolkit_driver(v.cuda) is not None, (release.torch, v.cuda)


@pytest.mark.parametrize(
    ("cuda", "linux"),
    [
        ("10.1", "418.39"),
        ("11.8", "520.61.05"),
        ("12.1", "530.30.02"),
        ("12.4", "550.54.14"),
        ("12.8", "570.26"),
        ("13.0", "580.65.06"),
    ],
)
def test_known_table3_rows(cuda: str, linux: str) -> None:
    row = K.toolkit_driver(cuda)
    assert row is not None and row.linux_min_driver == linux


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        ("418.87.01", "10.1"),
        ("470.199.02", "11.4"),
        ("535.104.05", "12.2"),
        ("550.54.14", "12.4"),
        ("580.82.07", "13.0"),
        ("390.1", None),
    ],
)
def test_max_cuda_for_driver(driver: str, cuda: str | None) -> None:
    assert K.max_cuda_for_driver(driver) == cuda


def test_architecture_ranges() -> None:
    volta = K.architecture("7.0")
    assert volta is not None and volta.last_cuda == "12.9"
    blackwell = K.architecture("12.0")
    assert blackwell is not None and blackwell.first_cuda == "12.8"
    orin = K.architecture("8.7")  # not listed: takes 8.6's range
    assert orin is not None and orin.compute_capability == "8.6"


@pytest.mark.parametrize(
    ("archs", "cc", "expected"),
    [
        (["sm_80", "sm_86"], "8.9", "sass"),  # same major, higher minor
        (["sm_80", "sm_86", "sm_90"], "12.0", "none"),  # RTX 50xx on a cu12.4 build
        (["sm_80", "compute_90"], "12.0", "ptx"),  # PTX JIT reaches newer GPUs
        (["sm_90a"], "9.0", "sass"),
        (["sm_90a"], "10.0", "none"),  # arch-specific targets do not carry forward
        (["sm_75", "sm_80"], "7.0", "none"),  # V100 on a wheel without sm_70
        (["sm_50", "sm_60", "sm_70"], "6.1", "sass"),
        ([], "8.6", "none"),
    ],
)
def test_coverage(archs: list[str], cc: str, expected: str) -> None:
    assert coverage(archs, cc) == expected


def test_parse_entry() -> None:
    assert parse_entry("sm_120") == parse_entry("SM_120")
    e = parse_entry("sm_120")
    assert e is not None and (e.major, e.minor) == (12, 0)
    assert parse_entry("garbage") is None


def test_pascal_on_current_torch_gets_cu126() -> None:
    s = suggest_torch(K, ["6.1"], driver_cuda="13.0", installed="2.13.0+cu130", python="py")
    assert s is not None
    assert (s.torch, s.cuda, s.needs_driver) == ("2.13", "12.6", None)
    assert (
        s.command
        == "py -m pip install 'torch==2.13.0+cu126' --index-url https://download.pytorch.org/whl/cu126"
    )


def test_blackwell_needs_cu128_or_newer() -> None:
    s = suggest_torch(K, ["12.0"], driver_cuda="12.8", installed="2.5.1+cu124", python="py")
    assert s is not None and Version(s.cuda) >= Version("12.8")
    assert "--force-reinstall" in s.command  # a different release than the installed one


def test_minor_version_compat_keeps_the_installed_release() -> None:
    s = suggest_torch(K, ["8.6"], driver_cuda="12.2", installed="2.8.0+cu128", python="py")
    assert s is not None and (s.torch, s.cuda) == ("2.8", "12.6")


def test_driver_upgrade_when_nothing_fits() -> None:
    s = suggest_torch(K, ["7.0"], driver_cuda="10.1", installed="2.4.1+cu121", python="py")
    assert s is not None and s.needs_driver == "450.80.02" and s.cuda == "11.8"


def test_no_gpus_no_suggestion() -> None:
    assert suggest_torch(K, [], driver_cuda="12.4", installed=None, python="py") is None
