"""`advisor bench`: the whole command on the CPU in seconds, the workload really trains,
results calibrate `estimate`, and Ctrl-C or a hang keeps what was measured."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from advisor.bench.calibration import measured_mfu, results_dir
from advisor.bench.results import BenchReport, DeviceResult
from advisor.bench.runner import assemble, run_device
from advisor.knowledge.cards import load_cards
from tests.conftest import Cli, one_error_line

CARDS = load_cards(include_user_config=False).cards
HAVE_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="needs the CPU torch of the test command")


@needs_torch
def test_bench_cpu_quick_end_to_end(cli: Cli) -> None:
    body = cli.json("bench", "--device", "cpu", "--quick", "--seconds", "5")
    report = body["result"]
    (dev,) = report["devices"]
    assert dev["device"] == "cpu" and dev["error"] is None
    matmul = {m["name"]: m for m in dev["matmul"]}
    assert matmul["fp32"]["value"] > 0.001 and matmul["tf32"]["value"] is None
    copy = next(b for b in dev["bandwidth"] if b["name"] == "device_copy")
    assert copy["value"] > 0.1
    t = dev["training"]
    assert t["tokens_per_second"] > 0 and t["steps"] >= 5
    assert t["loss_last"] < t["loss_first"] / 2  # the synthetic task is really learnt
    assert t["predicted_memory_bytes"] > 0
    saved = list(results_dir().glob("*.json"))
    assert len(saved) == 1
    assert BenchReport.model_validate_json(saved[0].read_text()).devices[0].training is not None


@needs_torch
def test_bench_text_output(cli: Cli) -> None:
    out = cli("bench", "--device", "cpu", "--quick", "--seconds", "3", "--no-save")
    assert out.exit_code == 0
    assert "training (" in out.stdout and "tokens/s" in out.stdout
    assert not results_dir().exists()


# What a GPU run streams (constructed input for the assembly logic, in the worker's format).
H100_EVENTS = [
    {
        "stage": "start",
        "torch": "2.8.0+cu128",
        "device": "cuda:0",
        "name": "NVIDIA H100 80GB HBM3",
        "capability": "9.0",
        "total_memory_bytes": 85028896768,
    },
    {
        "stage": "matmul",
        "dtype": "bf16",
        "n": 8192,
        "tflops": 712.0,
        "best_tflops": 730.0,
        "spread": 0.03,
        "repeats": 20,
    },
    {
        "stage": "matmul",
        "dtype": "tf32",
        "n": 8192,
        "tflops": 380.0,
        "best_tflops": 390.0,
        "spread": 0.02,
        "repeats": 20,
    },
    {"stage": "bandwidth", "kind": "device_copy", "bytes": 1 << 30, "gbs": 2900.0, "spread": 0.01},
    {
        "stage": "train",
        "config": {"vocab": 32768, "hidden": 1536, "layers": 8, "heads": 16, "seq": 1024},
        "batch": 4,
        "requested_batch": 8,
        "precision": "bfloat16",
        "tokens_per_second": 150000.0,
        "spread": 0.04,
        "steps": 60,
        "step_seconds": 0.027,
        "loss_first": 10.4,
        "loss_last": 0.2,
        "params": 277000000,
        "peak_memory_bytes": 20 * 2**30,
    },
    {
        "stage": "cpu_train",
        "config": {},
        "batch": 1,
        "requested_batch": 1,
        "precision": "fp32",
        "tokens_per_second": 500.0,
        "spread": 0.1,
        "steps": 5,
        "step_seconds": 2.0,
        "loss_first": 10.4,
        "loss_last": 9.0,
        "params": 277000000,
        "peak_memory_bytes": None,
    },
    {"stage": "done"},
]


def test_gpu_results_are_compared_with_the_datasheet() -> None:
    workload = {"vocab": 32768, "hidden": 1536, "layers": 8, "heads": 16, "seq": 1024}
    events = [dict(e, precision="bf16") if e["stage"] == "train" else e for e in H100_EVENTS]
    dev = assemble("cuda:0", events, CARDS, workload, 8)
    assert dev.card == "H100 SXM5 80GB"
    bf16 = next(m for m in dev.matmul if m.name == "bf16")
    assert bf16.datasheet == pytest.approx(989.4)
    assert bf16.fraction_of_datasheet == pytest.approx(712 / 989.4)
    assert dev.training is not None and dev.training.mfu is not None
    assert 0.05 < dev.training.mfu < 1
    assert dev.gpu_over_cpu == pytest.approx(300)
    assert "out of memory at batch 8: measured at batch 4" in dev.notes


def test_saved_results_calibrate_estimate(cli: Cli) -> None:
    workload = {"vocab": 32768, "hidden": 1536, "layers": 8, "heads": 16, "seq": 1024}
    events = [dict(e, precision="bf16") if e["stage"] == "train" else e for e in H100_EVENTS]
    dev = assemble("cuda:0", events, CARDS, workload, 8)
    report = BenchReport(
        host="gpu-box", taken_at="2026-11-20T10:00:00+00:00", python="python", budget_s=60, devices=[dev]
    )
    results_dir().mkdir(parents=True)
    (results_dir() / "gpu-box.json").write_text(report.model_dump_json())
    assert dev.training is not None
    found = measured_mfu("H100 SXM5 80GB", "bf16")
    assert found is not None and found[0] == pytest.approx(dev.training.mfu)
    speed = cli.json("estimate", "llama-2-7b", "--card", "h100 sxm")["result"]["speed"]
    assert speed["utilization"] == pytest.approx(dev.training.mfu)
    assert speed["utilization_source"].startswith("measured by advisor bench on gpu-box")
    # --mfu still wins, and other cards keep the default
    assert (
        cli.json("estimate", "llama-2-7b", "--card", "h100 sxm", "--mfu", "0.3")["result"]["speed"][
            "utilization"
        ]
        == 0.3
    )
    assert (
        cli.json("estimate", "llama-2-7b", "--card", "a100 sxm4 80")["result"]["speed"]["utilization"] == 0.40
    )


def test_damaged_saved_results_are_ignored() -> None:
    results_dir().mkdir(parents=True)
    (results_dir() / "x.json").write_text("{broken")
    assert measured_mfu("H100 SXM5 80GB", "bf16") is None


@needs_torch
def test_ctrl_c_keeps_the_results_so_far() -> None:
    seen: list[str] = []

    def interrupt_after_first_matmul(event: dict[str, object]) -> None:
        seen.append(str(event["stage"]))
        if event["stage"] == "matmul":
            raise KeyboardInterrupt

    dev, interrupted = run_device(
        sys.executable, "cpu", budget_s=20, quick=True, cards=CARDS, on_event=interrupt_after_first_matmul
    )
    assert interrupted
    assert [m.name for m in dev.matmul] == ["fp32"]
    assert dev.training is None


def test_hung_worker_is_stopped(tmp_path: Path) -> None:
    hang = tmp_path / "python"
    hang.write_text('#!/bin/sh\necho \'@@advisor@@ {"stage": "start", "name": "CPU"}\'\nsleep 60\n')
    hang.chmod(0o755)
    dev, interrupted = run_device(str(hang), "cpu", budget_s=1, quick=True, cards=CARDS, timeout_s=1.5)
    assert not interrupted
    assert dev.error is not None and "timed out" in dev.error


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--device", "gpu0"], "--device must be cpu, cuda or cuda:N"),
        (["--seconds", "0"], "--seconds must be between 1 and 3600"),
        (["--python", "/nope/python"], "no such executable"),
    ],
)
def test_bad_bench_input(args: list[str], words: str, cli: Cli) -> None:
    assert words in one_error_line(cli("bench", *args))


def test_bench_json_error_envelope(cli: Cli) -> None:
    body = cli.json("bench", "--device", "tpu", code=2)
    assert "--device must be" in json.dumps(body["error"])


def test_bench_without_torch_exits_1_with_one_line(cli: Cli, tmp_path: Path) -> None:
    # a Python with no torch: the worker's import fails, nothing is measured
    bare = tmp_path / "python"
    bare.write_text(f'#!/bin/sh\nexec {sys.executable} -S -c "import torch" "$@"\n')
    bare.chmod(0o755)
    result = cli("bench", "--device", "cpu", "--python", str(bare), "--seconds", "1", "--no-save")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("advisor: bench: nothing measured"), result.output
    body = cli.json("bench", "--device", "cpu", "--python", str(bare), "--seconds", "1", code=1)
    assert "nothing measured" in body["error"]["message"]


def test_bench_on_a_machine_without_gpus_refuses_cuda_in_one_line(cli: Cli) -> None:
    for device in ("cuda", "cuda:0"):
        result = cli("bench", "--device", device)
        assert result.exit_code == 1, result.output
        assert result.output.strip().startswith("advisor: bench: no usable NVIDIA GPU"), result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_spread_over_a_quarter_is_flagged() -> None:
    from advisor.bench.results import Measured
    from advisor.render.bench import render_device
    from advisor.render.console import make_console

    calm = Measured(name="fp32", value=10.0, unit="TFLOPS", spread=0.1)
    wild = Measured(name="fp16", value=10.0, unit="TFLOPS", spread=0.4)
    assert not calm.noisy and wild.noisy and wild.model_dump()["noisy"] is True
    console = make_console()
    with console.capture() as captured:
        render_device(console, DeviceResult(device="cpu", name="CPU", matmul=[calm, wild]))
    text = captured.get()
    assert "±20% !" in text and "±5% !" not in text and "spread over 25%" in text
