"""Contracts for the real probe on a real GPU. Skipped where NVML cannot initialise.

Run on a GPU machine with: pytest -m gpu
"""

from __future__ import annotations

import json
import sys

import pytest

from advisor.probe.nvml import probe_nvml
from advisor.probe.target import run_target_probe
from tests.conftest import Cli


def _nvml_works() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
        return True
    except Exception:
        return False


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not _nvml_works(), reason="no working NVIDIA driver")]


def test_nvml_reports_every_gpu_consistently() -> None:
    snap = probe_nvml()
    assert snap.init_error is None
    assert snap.driver_version.ok and snap.cuda_driver_version.ok
    assert snap.gpus and len(snap.gpus) == snap.device_count.value
    for gpu in snap.gpus:
        assert gpu.status == "ok"
        assert gpu.name.ok and gpu.uuid.ok and gpu.compute_capability.ok
        total, used, free = (
            gpu.memory_total_bytes.value,
            gpu.memory_used_bytes.value,
            gpu.memory_free_bytes.value,
        )
        assert total and used is not None and free is not None
        assert abs(total - used - free) <= total * 0.05  # reserved memory is the difference


def test_nvml_agrees_with_torch() -> None:
    torch_info = run_target_probe(sys.executable, 120).torch
    if torch_info is None or not torch_info.cuda_available:
        pytest.skip("no CUDA torch in this interpreter")
    snap = probe_nvml()
    assert torch_info.device_count == len(snap.gpus)
    for dev in torch_info.devices:
        assert dev.kernel_ok, dev.kernel_error
    by_cc = sorted(g.compute_capability.value or "" for g in snap.gpus)
    assert sorted(d.capability or "" for d in torch_info.devices) == by_cc


def test_check_runs_on_the_real_machine(cli: Cli) -> None:
    result = cli("check", "--json")
    assert result.exit_code in (0, 1)
    report = json.loads(result.stdout)["result"]
    assert report["gpus"], report


def test_bench_reaches_70_percent_of_the_datasheet() -> None:
    from advisor.bench.runner import run_device
    from advisor.knowledge.cards import load_cards

    dev, _ = run_device(
        sys.executable, "cuda:0", budget_s=30, quick=True, cards=load_cards(include_user_config=False).cards
    )
    if dev.card is None:
        pytest.skip(f"{dev.name} is not in the card database")
    for m in dev.matmul:
        if m.name in ("fp16", "bf16") and m.fraction_of_datasheet is not None:
            assert m.fraction_of_datasheet >= 0.70, m
    assert dev.training is not None and dev.training.loss_last < dev.training.loss_first
