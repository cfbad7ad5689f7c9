"""The target-Python worker: real subprocesses, with a fake torch for the failure modes and the
real (CPU) torch where it is installed."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from advisor.probe.target import parse_worker_output, run_target_probe
from tests.conftest import Cli
from tests.machines import install_machine, load_machine

HEALTHY = load_machine("healthy_rtx3090")


def _with_torch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **torch: object) -> None:
    machine = json.loads(json.dumps(HEALTHY))
    machine["torch"].update(torch)
    install_machine(machine, tmp_path, monkeypatch)


def test_fake_torch_is_read_completely(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _with_torch(monkeypatch, tmp_path)
    t = run_target_probe(sys.executable, 30)
    assert t.status == "ok", t
    assert t.torch is not None
    assert t.torch.version == "2.4.1+cu121"
    assert t.torch.cuda_version == "12.1"
    assert t.torch.cudnn_version == 90100
    assert t.torch.nccl_version == "2.20.5"
    assert t.torch.arch_list[-1] == "sm_90"
    assert t.torch.devices[0].kernel_ok is True
    assert t.pid is not None


def test_crash_in_cuda_init_is_a_finding(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _with_torch(monkeypatch, tmp_path, crash_at="cuda")
    result = cli("check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)["result"]
    target = report["snapshot"]["target"]
    assert target["status"] == "crashed"
    assert "SIGSEGV" in target["detail"]
    assert target["torch"]["version"] == "2.4.1+cu121"  # what was learnt before the crash is kept
    crashed = next(f for f in report["findings"] if f["id"] == "torch-probe-crashed")
    assert crashed["severity"] == "fail"
    assert "after step torch" in crashed["evidence"][0]


def test_hang_is_killed_at_the_timeout(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _with_torch(monkeypatch, tmp_path, hang_at="kernel")
    started = time.perf_counter()
    result = cli("check", "--timeout", "3", "--json")
    assert time.perf_counter() - started < 10
    assert result.exit_code == 1
    report = json.loads(result.stdout)["result"]
    assert report["snapshot"]["target"]["status"] == "timeout"
    hang = next(f for f in report["findings"] if f["id"] == "torch-probe-hang")
    assert "no answer within 3 s; last step: cuda" in hang["evidence"][0]


def test_exit_with_an_error_is_a_finding(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _with_torch(monkeypatch, tmp_path, exit_at="import")
    report = cli.json("check", code=0)["result"]
    failed = next(f for f in report["findings"] if f["id"] == "torch-probe-failed")
    assert "exit code 3" in failed["evidence"][0]
    assert "Fatal Python error" in failed["evidence"][0]


def test_garbage_from_a_non_python_interpreter(cli: Cli, tmp_path: Path) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'Welcome to my shell wrapper'\necho '@@advisor@@ {not json'\n")
    fake_python.chmod(0o755)
    report = cli.json("check", "--python", str(fake_python))["result"]
    assert report["snapshot"]["target"]["status"] == "garbage"
    assert "torch-probe-garbage" in {f["id"] for f in report["findings"]}


def test_broken_torch_import_is_quoted(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    text = "libcudnn.so.9: cannot open shared object file: No such file or directory"
    _with_torch(monkeypatch, tmp_path, import_error=text)
    report = cli.json("check", code=1)["result"]
    failed = next(f for f in report["findings"] if f["id"] == "torch-import-failed")
    assert text in failed["error_text"]


def test_unmarked_lines_are_ignored() -> None:
    out = (
        "hello from sitecustomize\n"
        '@@advisor@@ {"stage": "start", "python_version": "3.10.12"}\n'
        '@@advisor@@ {"stage": "torch", "version": "2.3.0", "cuda_version": "12.1"}\n'
        '@@advisor@@ {"stage": "done"}\n'
    )
    t = parse_worker_output("py", out, "", 0)
    assert t.status == "ok"
    assert t.torch is not None and t.torch.cuda_version == "12.1"


def test_bad_python_path_is_a_usage_error(cli: Cli) -> None:
    result = cli("check", "--python", "/no/such/python")
    assert result.exit_code == 2
    assert "--python /no/such/python: no such executable" in result.output


def test_bad_timeout_is_a_usage_error(cli: Cli) -> None:
    assert cli("check", "--timeout", "-1").exit_code == 2


HAVE_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.skipif(not HAVE_TORCH, reason="needs the CPU torch the README's test command installs")
def test_real_torch_cpu_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    t = run_target_probe(sys.executable, 120)
    assert t.status == "ok", t
    assert t.torch is not None
    import torch  # only the test imports it, to compare

    assert t.torch.version == torch.__version__
    assert t.torch.cuda_version == torch.version.cuda
    assert t.torch.cuda_available == torch.cuda.is_available()
    assert os.path.dirname(torch.__file__) == t.torch.path
