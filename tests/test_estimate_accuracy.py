"""The memory estimate against real PyTorch on the CPU for the networks without attention (the
MLP and CNN families): each line within 15 %, total within 10 %. Transformers:
tests/test_estimate_transformers.py.

benchmarks/estimate_vs_measured.py prints the same comparison as a table.
"""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="needs the CPU torch the README's test command installs",
)


def _cases() -> list[object]:
    if importlib.util.find_spec("torch") is None:
        return []
    from benchmarks.estimate_vs_measured import CASES

    return list(CASES)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: getattr(c, "name", "?"))
def test_estimate_matches_pytorch(case: object) -> None:
    from benchmarks.estimate_vs_measured import LINES, estimated, measured

    est, got = estimated(case), measured(case)  # type: ignore[arg-type]
    for line in LINES:
        assert est[line] == pytest.approx(got[line], rel=0.15), (line, est, got)
    assert sum(est.values()) == pytest.approx(sum(got.values()), rel=0.10)


def test_saved_tensors_are_counted_once() -> None:
    """The harness itself: a tensor saved by two ops is one storage, parameters are not activations."""
    import torch

    from benchmarks.memory_harness import measure_step

    class Twice(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1000))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.sin(x * self.w)  # mul saves x and w; sin saves the product
            return (y * y).sum()  # mul saves y twice: one storage

    got = measure_step(Twice(), (torch.randn(1000),), optimizer="sgd")
    assert got["weights"] == 4000 and got["gradients"] == 4000
    assert got["activations"] == 3 * 4000  # x, x*w, y
