"""The compatibility data is complete and consistent, and the questions asked of it."""

from __future__ import annotations

import pytest
from packaging.version import Version

from advisor.compat.arch import coverage, parse_entry
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
    orin = K.architecture("8.7")
    assert orin is not None and orin.tegra and orin.first_cuda == "11.4"
    hopper_next = K.architecture("9.9")  # not listed: takes the nearest listed minor below
    assert hopper_next is not None and hopper_next.compute_capability == "9.0"


def test_tegra_capabilities_take_only_their_own_sass() -> None:
    """NVIDIA: "Binary compatibility is supported only for the desktop. It is not supported for
    Tegra." An sm_80/sm_86 wheel has no code for an Orin (8.7); an sm_87 one does."""
    from advisor.compat.arch import gpu_coverage

    assert gpu_coverage(K, ["sm_80", "sm_86"], "8.7") == "none"
    assert gpu_coverage(K, ["sm_87"], "8.7") == "sass"
    assert gpu_coverage(K, ["sm_80", "compute_80"], "8.7") == "ptx"
    assert gpu_coverage(K, ["sm_80", "sm_86"], "8.9") == "sass"  # a desktop Ada runs sm_86 code


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
