"""Fit the speed model's per-workload constants on the sets marked `role: fit` (and only those).

    python benchmarks/fit_speed.py

Prints the constants to put in advisor/estimate/speed.py:
- CNN_MEMORY_SHARE (the bandwidth-bound share of a convolutional network's work) from the rank and
  ratios of lambda-2023-resnet50-amp, then CNN_MFU from its absolute images/s (the median ratio);
- DECODE_BANDWIDTH_UTIL (GDDR and HBM) and DECODE_LAYER_SECONDS from the absolute tokens/s of the
  xiongjiedai-llama3 sets.
A grid search on squared log errors: small, deterministic, no dependency. The held-out sets are
never read here.
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from advisor.estimate import speed
from benchmarks.published_speed import compare, predict, sets


def _log_error(workload: str, relative: bool) -> float:
    err = []
    for s in sets(role="fit", workload=workload):
        c = compare(s)
        if relative:
            err += [math.log(p / m) ** 2 for m, p in zip(c.measured, c.predicted, strict=True)]
        else:
            err += [math.log(a) ** 2 for a in c.absolute]
    return statistics.mean(err)


def _clear() -> None:
    predict_cache = getattr(predict, "cache_clear", None)
    if predict_cache:
        predict_cache()


def fit_cnn() -> tuple[float, float]:
    best = (math.inf, 0.0)
    for g in [x * 2.0 for x in range(1, 301)]:
        speed.CNN_MEMORY_SHARE = g
        best = min(best, (_log_error("resnet50-train", relative=True), g))
    speed.CNN_MEMORY_SHARE = best[1]
    speed.CNN_MFU = 1.0
    (s,) = sets(role="fit", workload="resnet50-train")
    ratio = statistics.median(compare(s).absolute)
    speed.CNN_MFU = 1.0 / ratio
    return best[1], speed.CNN_MFU


def fit_decode() -> tuple[float, float, float]:
    best = (math.inf, 0.0, 0.0, 0.0)
    grid_u = [x / 100 for x in range(20, 101, 2)]
    grid_t = [x * 10e-6 for x in range(0, 21)]
    for gddr, hbm, t in itertools.product(grid_u, grid_u, grid_t):
        speed.DECODE_BANDWIDTH_UTIL = {"gddr": gddr, "hbm": hbm}
        speed.DECODE_LAYER_SECONDS = t
        best = min(best, (_log_error("llm-decode", relative=False), gddr, hbm, t))
    return best[1], best[2], best[3]


def main() -> None:
    g, base = fit_cnn()
    print(f"CNN_MEMORY_SHARE = {g:.2f}\nCNN_MFU = {base:.3f}")
    gddr, hbm, t = fit_decode()
    print(f'DECODE_BANDWIDTH_UTIL = {{"gddr": {gddr:.2f}, "hbm": {hbm:.2f}}}\nDECODE_LAYER_SECONDS = {t:.6f}')


if __name__ == "__main__":
    main()
