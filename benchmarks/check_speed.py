"""How fast `advisor check` is, against its floor and its peer, measured in the same run.

    python benchmarks/check_speed.py [--repeats 7] [--python PATH]

The floor is the target interpreter's own `python -c "import torch"` (a check must import torch
once); the peer is `python -m torch.utils.collect_env`. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="the target interpreter")
    args = parser.parse_args()
    advisor = shutil.which("advisor") or f"{sys.executable} -m advisor"
    base = advisor.split()
    commands = {
        "advisor check --no-python": [*base, "check", "--no-python"],
        "advisor check": [*base, "check", "--python", args.python],
        'python -c "import torch"': [args.python, "-c", "import torch"],
        "python -m torch.utils.collect_env": [args.python, "-m", "torch.utils.collect_env"],
    }
    for cmd in commands.values():  # warm the page cache once
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):  # interleaved, so drift hits every command alike
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    median = {name: statistics.median(t) for name, t in times.items()}
    floor = median['python -c "import torch"']
    print(f"{'command':<36} {'median s':>9} {'min s':>7} {'x import torch':>15}")
    for name in commands:
        print(f"{name:<36} {median[name]:>9.3f} {min(times[name]):>7.3f} {median[name] / floor:>15.2f}")
    print()
    print(f"advisor check / import torch  = {median['advisor check'] / floor:.2f} (target <= 1.15)")
    print(f"advisor check --no-python     = {median['advisor check --no-python']:.3f} s (target < 0.5)")
    print(
        f"collect_env / advisor check   = "
        f"{median['python -m torch.utils.collect_env'] / median['advisor check']:.2f}"
    )


if __name__ == "__main__":
    main()
