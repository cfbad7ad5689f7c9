"""How fast `advisor check` starts, against floors measured in the same run.

    python benchmarks/check_speed.py [--repeats 11] [--python PATH] [--readme]

Floors: for `advisor check --no-python`, importing advisor's own dependencies the way it uses
them (typer, rich.console, pydantic with its BaseModel, yaml, pynvml); for the full check, the
target interpreter's `python -c "import torch"` (a check must import torch once). The peer is
`python -m torch.utils.collect_env`. Commands run interleaved, medians are compared.

Byte-code caches are allowed (PYTHONDONTWRITEBYTECODE is cleared for the measured commands): a
pip-installed advisor has its .pyc files, and recompiling every module on every run would time
the compiler, not advisor. --readme rewrites the figures the README quotes.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
DEPS = "import typer, rich.console, pydantic, yaml, pynvml; from pydantic import BaseModel"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)
    return time.perf_counter() - started


def measure(repeats: int, python: str) -> dict[str, float]:
    advisor = shutil.which("advisor")
    base = [advisor] if advisor else [sys.executable, "-m", "advisor"]
    commands = {
        "deps import": [sys.executable, "-c", DEPS],
        "advisor check --no-python --json": [*base, "check", "--no-python", "--json"],
        "advisor check --no-python": [*base, "check", "--no-python"],
        'python -c "import torch"': [python, "-c", "import torch"],
        "advisor check": [*base, "check", "--python", python],
        "python -m torch.utils.collect_env": [python, "-m", "torch.utils.collect_env"],
    }
    for cmd in commands.values():  # warm the page cache and write the byte-code once
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):  # interleaved, so drift hits every command alike
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    print(f"{'command':<36} {'median s':>9} {'min s':>7}")
    for name, t in times.items():
        print(f"{name:<36} {statistics.median(t):>9.3f} {min(t):>7.3f}")
    return {name: statistics.median(t) for name, t in times.items()}


def ratios(m: dict[str, float]) -> dict[str, float]:
    return {
        "no_python": m["advisor check --no-python"] / m["deps import"],
        "no_python_json": m["advisor check --no-python --json"] / m["deps import"],
        "full": m["advisor check"] / m['python -c "import torch"'],
        "collect_env": m["python -m torch.utils.collect_env"] / m["advisor check"],
    }


def readme_sentence(m: dict[str, float], r: dict[str, float]) -> str:
    cores = os.cpu_count() or 0
    return (
        f"On a {cores}-core {platform.machine()} VM: `--no-python` {m['advisor check --no-python']:.2f} s, "
        f"{r['no_python']:.2f} x importing its dependencies ({r['no_python_json']:.2f} x with "
        f"`--json`); full check {r['full']:.2f} x `import torch`; collect_env "
        f"{r['collect_env']:.2f} x the full check."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--python", default=sys.executable, help="the target interpreter")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's figures")
    args = parser.parse_args()
    m = measure(args.repeats, args.python)
    r = ratios(m)
    print()
    print(f"check --no-python / deps import  = {r['no_python']:.2f} (target <= 1.3)")
    print(f"  with --json                     = {r['no_python_json']:.2f}")
    print(f"advisor check / import torch     = {r['full']:.2f} (target <= 1.05)")
    print(f"collect_env / advisor check      = {r['collect_env']:.2f}")
    sentence = readme_sentence(m, r)
    print(sentence)
    if args.readme:
        text = README.read_text(encoding="utf-8")
        marked = re.compile(r"(<!-- check_speed -->\n).*?(\n<!-- /check_speed -->)", re.S)
        if not marked.search(text):
            sys.exit("README.md has no <!-- check_speed --> block")
        README.write_text(marked.sub(lambda g: g.group(1) + sentence + g.group(2), text), encoding="utf-8")
        print("README.md updated")


if __name__ == "__main__":
    main()
