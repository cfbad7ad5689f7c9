"""Runs inside the target interpreter: measures one device and streams each result as it lands.

Self-contained (standard library + torch), like target_worker.py. Each measurement is printed as
a marked JSON line the moment it is known, so the parent can show live progress and keep the
results so far on Ctrl-C or a timeout.

    python bench_worker.py '{"device": "cuda:0", "budget_s": 60, "quick": false}'
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

# The wire format, shared with advisor: loaded by path (advisor need not be installed here).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from _advisor_wire import emit
finally:
    del sys.path[0]


class Clock:
    """Wall time on the CPU; CUDA events on a GPU, so kernels are timed, not their launches."""

    def __init__(self, torch: Any, device: str) -> None:
        self.torch, self.cuda = torch, device.startswith("cuda")

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def time(self, fn: Any, reps: int) -> float:
        """Seconds per call of fn, over reps calls."""
        if self.cuda:
            start = self.torch.cuda.Event(enable_timing=True)
            end = self.torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(reps):
                fn()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) / 1000.0 / reps
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) / reps


def repeat(clock: Clock, fn: Any, budget_s: float, min_repeats: int = 3) -> list[float]:
    """Warm up, pick a rep count of about 50 ms, then time repeats until the budget is spent."""
    fn()
    clock.sync()
    one = max(clock.time(fn, 1), 1e-6)
    reps = max(1, min(100, int(0.05 / one)))
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < min_repeats or (time.perf_counter() < deadline and len(times) < 30):
        times.append(clock.time(fn, reps))
    return times


def summary(values: list[float]) -> dict[str, float]:
    med = statistics.median(values)
    return {
        "median": med,
        "min": min(values),
        "max": max(values),
        "spread": (max(values) - min(values)) / med if med else 0.0,
        "repeats": len(values),
    }


def matmuls(torch: Any, device: str, clock: Clock, budget_s: float, quick: bool) -> None:
    cuda = device.startswith("cuda")
    cases = [
        ("fp32", torch.float32, False),
        ("tf32", torch.float32, True),
        ("fp16", torch.float16, False),
        ("bf16", torch.bfloat16, False),
    ]
    for name, dtype, tf32 in cases:
        if tf32 and not cuda:
            emit("matmul", dtype=name, unavailable="TF32 is a GPU tensor-core format")
            continue
        if cuda and name == "bf16" and not torch.cuda.is_bf16_supported():
            emit("matmul", dtype=name, unavailable="this GPU has no bf16 support")
            continue
        emit("begin", what=f"matmul {name}")  # what runs now, for the live status line
        n = (4096 if quick else 8192) if cuda else (1024 if quick else 2048)
        if not cuda and name in ("fp16", "bf16"):
            n //= 2  # 16-bit CPU matmuls are emulated on most CPUs: keep them short
        previous = torch.backends.cuda.matmul.allow_tf32 if cuda else False
        try:
            if cuda:
                torch.backends.cuda.matmul.allow_tf32 = tf32
            a = torch.randn(n, n, device=device, dtype=dtype)
            b = torch.randn(n, n, device=device, dtype=dtype)
            times = repeat(clock, lambda a=a, b=b: torch.matmul(a, b), budget_s / len(cases))
            stats = summary([2 * n**3 / t / 1e12 for t in times])
            emit(
                "matmul",
                dtype=name,
                n=n,
                tflops=stats["median"],
                best_tflops=max(2 * n**3 / t / 1e12 for t in times),
                spread=stats["spread"],
                repeats=len(times),
            )
        except RuntimeError as exc:
            emit("matmul", dtype=name, unavailable=str(exc).splitlines()[0][:200])
        finally:
            if cuda:
                torch.backends.cuda.matmul.allow_tf32 = previous
                torch.cuda.empty_cache()


def _copy_rate(
    torch: Any, clock: Clock, dst: Any, src: Any, budget_s: float, nbytes: int, non_blocking: bool = False
) -> dict[str, float]:
    times = repeat(clock, lambda: dst.copy_(src, non_blocking=non_blocking), budget_s)
    return summary([nbytes / t / 1e9 for t in times])


def bandwidth(torch: Any, device: str, clock: Clock, budget_s: float, quick: bool) -> None:
    cuda = device.startswith("cuda")
    size = (256 if quick else 1024) * 2**20 if cuda else (64 if quick else 256) * 2**20
    emit("begin", what="device memory bandwidth")
    src = torch.empty(size, dtype=torch.uint8, device=device)
    # A copy reads and writes every byte: 2 x size moved.
    stats = _copy_rate(torch, clock, torch.empty_like(src), src, budget_s / 3, 2 * size)
    emit("bandwidth", kind="device_copy", bytes=size, gbs=stats["median"], spread=stats["spread"])
    src = None  # free it before the host-side buffers
    if not cuda:
        emit("bandwidth", kind="host_to_device", unavailable="no device: the CPU is the host")
        return
    host_size = (64 if quick else 256) * 2**20
    device_buffer = torch.empty(host_size, dtype=torch.uint8, device=device)
    for kind, pinned in (("host_to_device_pinned", True), ("host_to_device_pageable", False)):
        emit("begin", what=kind.replace("_", " "))
        host = torch.empty(host_size, dtype=torch.uint8, pin_memory=pinned)
        stats = _copy_rate(torch, clock, device_buffer, host, budget_s / 3, host_size, pinned)
        emit("bandwidth", kind=kind, bytes=host_size, gbs=stats["median"], spread=stats["spread"])
    torch.cuda.empty_cache()


def build_model(torch: Any, cfg: dict[str, int]) -> Any:
    nn, F = torch.nn, torch.nn.functional
    module: Any = nn.Module

    class Block(module):
        def __init__(self) -> None:
            super().__init__()
            h = cfg["hidden"]
            self.ln1, self.ln2 = nn.LayerNorm(h), nn.LayerNorm(h)
            self.qkv = nn.Linear(h, 3 * h, bias=False)
            self.proj = nn.Linear(h, h, bias=False)
            self.up = nn.Linear(h, 4 * h, bias=False)
            self.down = nn.Linear(4 * h, h, bias=False)

        def forward(self, x: Any) -> Any:
            b, s, h = x.shape
            heads = cfg["heads"]
            q, k, v = self.qkv(self.ln1(x)).split(h, -1)
            q, k, v = (t.view(b, s, heads, h // heads).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, s, h))
            return x + self.down(F.gelu(self.up(self.ln2(x))))

    class GPT(module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(cfg["vocab"], cfg["hidden"])
            self.blocks = nn.ModuleList(Block() for _ in range(cfg["layers"]))
            self.ln_f = nn.LayerNorm(cfg["hidden"])
            self.head = nn.Linear(cfg["hidden"], cfg["vocab"], bias=False)
            self.head.weight = self.embed.weight
            nn.init.normal_(self.embed.weight, std=0.02)  # GPT-2's init: logits start near uniform

        def forward(self, idx: Any, targets: Any) -> Any:
            x = self.embed(idx)
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.ln_f(x))
            return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1))

    return GPT()


def batch_of(torch: Any, cfg: dict[str, int], batch: int, device: str, gen: Any) -> tuple[Any, Any]:
    """A learnable synthetic task: each sequence counts up from a random start (mod vocab)."""
    start = torch.randint(0, cfg["vocab"], (batch, 1), generator=gen)
    seq = (start + torch.arange(cfg["seq"] + 1)) % cfg["vocab"]
    return seq[:, :-1].to(device), seq[:, 1:].to(device)


def train(
    torch: Any, device: str, clock: Clock, cfg: dict[str, int], batch: int, budget_s: float, stage: str
) -> None:
    cuda = device.startswith("cuda")
    emit("begin", what="training on the CPU" if stage == "cpu_train" else "training a small transformer")
    amp_dtype = None
    if cuda:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    first_batch = batch
    while True:
        try:
            result = _train_once(torch, device, clock, cfg, batch, budget_s, amp_dtype)
            break
        except RuntimeError as exc:
            if "out of memory" not in str(exc).lower() or batch == 1:
                emit(stage, unavailable=str(exc).splitlines()[0][:200])
                return
            batch //= 2
            if cuda:
                torch.cuda.empty_cache()
    emit(
        stage,
        config=cfg,
        batch=batch,
        requested_batch=first_batch,
        precision=str(amp_dtype).replace("torch.", "") if amp_dtype else "fp32",
        **result,
    )


def _train_once(
    torch: Any, device: str, clock: Clock, cfg: dict[str, int], batch: int, budget_s: float, amp_dtype: Any
) -> dict[str, Any]:
    import contextlib

    cuda = device.startswith("cuda")
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = build_model(torch, cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    losses: list[float] = []

    def step() -> None:
        idx, tgt = batch_of(torch, cfg, batch, device, gen)
        ctx = torch.autocast("cuda", dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()
        with ctx:
            loss = model(idx, tgt)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()
        losses.append(float(loss.detach()))

    step()  # warm-up: allocations, kernel selection
    step()
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    # At least 30 steps whatever the budget: enough to see the loss fall on any machine.
    while len(times) < 30 or (time.perf_counter() < deadline and len(times) < 200):
        times.append(clock.time(step, 1))
    tokens = batch * cfg["seq"]
    stats = summary([tokens / t for t in times])
    params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return {
        "tokens_per_second": stats["median"],
        "spread": stats["spread"],
        "steps": len(losses),
        "step_seconds": statistics.median(times),
        "loss_first": losses[0],
        "loss_last": losses[-1],
        "params": params,
        "peak_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else None,
    }


def main() -> None:
    opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    device, budget, quick = (
        opts.get("device", "cpu"),
        float(opts.get("budget_s", 60)),
        opts.get("quick", False),
    )
    import torch

    info: dict[str, Any] = {"torch": torch.__version__, "device": device}
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            emit("start", **info, error="torch.cuda.is_available() is False")
            emit("done")
            return
        index = int(device.split(":")[1]) if ":" in device else 0
        torch.cuda.set_device(index)
        props = torch.cuda.get_device_properties(index)
        info.update(
            name=props.name,
            capability=f"{props.major}.{props.minor}",
            total_memory_bytes=int(props.total_memory),
        )
    else:
        info.update(name="CPU", threads=torch.get_num_threads())
    emit("start", **info)
    clock = Clock(torch, device)
    share = {"matmul": 0.30, "bandwidth": 0.10, "train": 0.45, "cpu_train": 0.15}
    matmuls(torch, device, clock, budget * share["matmul"], quick)
    bandwidth(torch, device, clock, budget * share["bandwidth"], quick)
    cfg = opts.get("model") or {"vocab": 256, "hidden": 128, "layers": 2, "heads": 4, "seq": 64}
    train(torch, device, clock, cfg, int(opts.get("batch", 8)), budget * share["train"], "train")
    if device.startswith("cuda"):
        cpu_cfg = dict(cfg, seq=min(cfg["seq"], 256))
        train(torch, "cpu", Clock(torch, "cpu"), cpu_cfg, 1, budget * share["cpu_train"], "cpu_train")
    emit("done")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        emit("interrupted")
