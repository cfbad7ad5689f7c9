"""`advisor explain` on reports pasted in public threads (tests/pasted/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.paste.read import read_report
from tests.conftest import Cli, assert_fits, one_error_line

HERE = Path(__file__).resolve().parent / "pasted"
CASES = sorted([*HERE.glob("*.yaml"), *HERE.glob("found/*.yaml")])


def _case(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def test_there_are_enough_reports() -> None:
    assert len(CASES) >= 25
    for path in CASES:
        case = _case(path)
        assert case["source"].startswith("https://"), path.name
        assert case["pasted"].strip() and case["cause"] and case["fix_that_worked"], path.name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_report(path: Path, cli: Cli, tmp_path: Path) -> None:
    case = _case(path)
    expect = case["expect"]
    pasted = tmp_path / "report.txt"
    pasted.write_text(case["pasted"], encoding="utf-8")

    result = cli("explain", str(pasted), "--json")
    assert result.exit_code == expect["exit_code"], result.output
    if expect["exit_code"] == 2:
        assert "nothing advisor can read" in json.loads(result.stdout)["error"]["message"]
        return
    body = json.loads(result.stdout)["result"]
    found = {f["id"]: f["severity"] for f in body["check"]["findings"] if f["severity"] in ("fail", "warn")}
    assert found == expect["findings"], (found, case["cause"])
    if case.get("kind") in ("healthy", "old_layout"):  # the bug was elsewhere
        assert "fail" not in found.values() and expect["exit_code"] == 0
    if "known_gap" not in case and "confirmed_finding" in case:
        assert case["confirmed_finding"] in found
        assert "fix_contains" in expect, "a report whose cause is found says which fix it must give"
    if "fix_contains" in expect:  # the fix that worked, in the words or the command given
        from tests.conftest import fix_text

        (cause,) = [f for f in body["check"]["findings"] if f["id"] == case["confirmed_finding"]]
        assert expect["fix_contains"] in fix_text(cause), fix_text(cause)
    for command in expect.get("settle", []):
        assert command in body["settle"]

    text = cli("explain", str(pasted), env={"COLUMNS": "80"})
    assert text.exit_code == expect["exit_code"]
    assert "Traceback" not in text.output
    assert_fits(text.output, 80)


def test_stdin_and_verbose(cli: Cli) -> None:
    report = "PyTorch version: 2.1.0+cu121\nsome prose the reader does not know\n"
    from advisor.cli import app

    result = cli.runner.invoke(
        app,
        ["explain", "-", "--verbose"],
        input=report,
        env={"COLUMNS": "80", "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.output
    assert "some prose the reader does not know" in result.output
    assert "1 line not understood" in result.output


@pytest.mark.parametrize("text", ["", "just some words\nno blocks at all\n", "\x00\x01\x02 binary"])
def test_nothing_readable_is_one_line_and_exit_2(text: str, cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text(text, encoding="utf-8")
    assert "nothing advisor can read" in one_error_line(cli("explain", str(f)))


def test_unreadable_sources_are_one_line(cli: Cli, tmp_path: Path) -> None:
    assert "no such file" in one_error_line(cli("explain", str(tmp_path / "nope.txt")))
    assert "is a folder" in one_error_line(cli("explain", str(tmp_path)))


def test_collect_env_layouts_old_and_new() -> None:
    old = read_report(
        "PyTorch version: 1.4.0\nIs debug build: No\nCUDA used to build PyTorch: 10.1\n"
        "OS: Ubuntu 18.04.3 LTS\nPython version: 3.7\nIs CUDA available: Yes\n"
        "CUDA runtime version: 10.1.243\nGPU models and configuration: GPU 0: GeForce RTX 2080 Ti\n"
        "Nvidia driver version: 418.87.00\ncuDNN version: /usr/lib/x86_64-linux-gnu/libcudnn.so.7.6.5\n"
    )
    assert (old.torch_version, old.torch_cuda, old.cuda_available) == ("1.4.0", "10.1", True)
    assert (old.nvcc_version, old.driver_version, old.cudnn_version) == ("10.1", "418.87.00", 7605)
    assert [g.name for g in old.gpus] == ["GeForce RTX 2080 Ti"]
    new = read_report(
        "PyTorch version: 2.3.0+cu121\nCUDA used to build PyTorch: 12.1\nROCM used to build PyTorch: N/A\n"
        "Is CUDA available: True\nGPU models and configuration: \nGPU 0: NVIDIA A100-SXM4-80GB\n"
        "GPU 1: NVIDIA A100-SXM4-80GB\n\nNvidia driver version: 535.104.05\n"
        "cuDNN version: Probably one of the following:\n/usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.2\n"
        "Versions of relevant libraries:\n[pip3] numpy==1.26.4\n[pip3] torch==2.3.0\n"
        "[pip3] nvidia-cudnn-cu12==8.9.2.26\n[conda] torch 2.3.0 pypi_0 pypi\n"
    )
    assert new.torch_cuda == "12.1" and new.torch_hip is None and len(new.gpus) == 2
    assert new.packages["nvidia-cudnn-cu12"] == "8.9.2.26" and new.packages["torch"] == "2.3.0"


def test_nvidia_smi_table_and_list() -> None:
    p = read_report(
        "| NVIDIA-SMI 535.154.05             Driver Version: 535.154.05   CUDA Version: 12.2     |\n"
        "|   0  NVIDIA GeForce RTX 3090        Off | 00000000:01:00.0  On |                  N/A |\n"
        "| 66%   62C    P2             325W / 350W |  14375MiB / 24576MiB |    100%      Default |\n"
    )
    assert (p.driver_version, p.cuda_driver) == ("535.154.05", 12020)
    assert p.gpus[0].name == "NVIDIA GeForce RTX 3090" and p.gpus[0].memory_total_mib == 24576
    listed = read_report(
        "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1) GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-2)"
    )
    assert [g.index for g in listed.gpus] == [0, 1]


def test_a_suggested_fix_is_not_read_as_what_is_installed() -> None:
    # "pip install torch==2.4.1" in a reply is advice, not the installed version
    p = read_report(
        "it fails\nTry: torch==2.4.1+cu121\nThe NVIDIA driver on your system is too old (found version 11040)"
    )
    assert p.torch_version is None and p.cuda_driver == 11040


def test_the_readme_quotes_the_corpus_as_it_is() -> None:
    readme = (HERE.parent.parent / "README.md").read_text(encoding="utf-8")
    rebuilt = [p for p in CASES if "confirmed_finding" in _case(p)]
    direct = [p for p in rebuilt if "known_gap" not in _case(p)]
    text = " ".join(readme.split())
    assert f"`tests/pasted/` holds {len(rebuilt)} reports from public threads" in text
    assert f"on {len(direct)} the text alone leads to the confirmed cause" in text
    found = [_case(p) for p in CASES if p.parent.name == "found"]
    healthy = [c for c in found if c.get("kind") == "healthy"]
    assert f"`tests/pasted/found/` adds {len(found)} more: {len(healthy)} healthy reports" in text


def test_a_pasted_probe_snapshot_is_diagnosed_whole(cli: Cli, tmp_path: Path) -> None:
    snapshot = HERE.parent / "fakes" / "snapshots" / "v1_two_gpus_one_lost.json"
    from_check = cli.json("check", "--snapshot", str(snapshot), code=1)["result"]
    result = cli("explain", str(snapshot), "--json")
    assert result.exit_code == 1, result.output
    body = json.loads(result.stdout)["result"]
    assert body["read"] == ["advisor snapshot"]
    assert [f["id"] for f in body["check"]["findings"]] == [f["id"] for f in from_check["findings"]]
    broken = tmp_path / "cut.json"
    broken.write_text(snapshot.read_text()[:300], encoding="utf-8")
    assert "not JSON" in one_error_line(cli("explain", str(broken)))


SMI_Q = """==============NVSMI LOG==============

Timestamp                                 : Fri Dec  4 12:00:00 2026
Driver Version                            : 535.104.05
CUDA Version                              : 12.2

Attached GPUs                             : 1
GPU 00000000:3B:00.0
    Product Name                          : NVIDIA GeForce RTX 3090
    FB Memory Usage
        Total                             : 24576 MiB
        Reserved                          : 310 MiB
        Used                              : 1 MiB
        Free                              : 24264 MiB
    BAR1 Memory Usage
        Total                             : 256 MiB
        Used                              : 5 MiB
    PCI
        GPU Link Info
            PCIe Generation
                Max                       : 4
                Current                   : 4
            Link Width
                Max                       : 16x
                Current                   : 4x
"""


def test_nvidia_smi_q_blocks_are_read_by_section(cli: Cli, tmp_path: Path) -> None:
    # the layout of `nvidia-smi -q` (NVIDIA's nvidia-smi documentation; sections as driver 535 prints them)
    p = read_report(SMI_Q)
    g = p.gpus[0]
    assert (p.driver_version, p.cuda_driver) == ("535.104.05", 12020)
    assert (g.name, g.memory_total_mib, g.memory_used_mib) == ("NVIDIA GeForce RTX 3090", 24576, 1)
    assert (g.pcie_gen_current, g.pcie_width_current, g.pcie_width_max) == (4, 4, 16)
    f = tmp_path / "q.txt"
    f.write_text(SMI_Q, encoding="utf-8")
    body = cli.json("explain", str(f))["result"]
    assert {x["id"]: x["severity"] for x in body["check"]["findings"]}.get("pcie-link-narrow") == "warn"


def test_nvidia_smi_query_gpu_csv() -> None:
    p = read_report(
        "$ nvidia-smi --query-gpu=index,name,driver_version,memory.total,memory.used,compute_cap "
        "--format=csv\n"
        "index, name, driver_version, memory.total [MiB], memory.used [MiB], compute_cap\n"
        "0, NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 0 MiB, 9.0\n"
        "1, NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB, 10 MiB, 9.0\n"
    )
    assert p.driver_version == "550.54.15" and len(p.gpus) == 2
    assert (p.gpus[1].name, p.gpus[1].memory_total_mib, p.gpus[1].compute_capability) == (
        "NVIDIA H100 80GB HBM3",
        81559,
        "9.0",
    )


def test_flash_attention_refusal_names_the_gpu_feature(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "fa.txt"
    f.write_text(
        "GPU 0: Tesla T4\nPyTorch version: 2.3.0+cu121\n"
        "RuntimeError: FlashAttention only supports Ampere GPUs or newer.\n",
        encoding="utf-8",
    )
    body = cli.json("explain", str(f))["result"]
    (finding,) = [x for x in body["check"]["findings"] if x["id"] == "package-needs-newer-gpu"]
    assert "7.5" in finding["summary"] and "sdpa" in finding["fix"]
    assert any(i["fact"] == "GPU 0 CC" and i["value"] == "7.5" for i in body["inferred"])
