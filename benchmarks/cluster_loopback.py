"""Collective bandwidth measured by `advisor cluster` on this machine over loopback (gloo).

    python benchmarks/cluster_loopback.py [--procs 2 4] [--max-size 16M]

Prints the all_reduce and all_gather bus bandwidth (nccl-tests definitions) per message size for
each process count, and rank 0's point-to-point bandwidth to every other rank.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--max-size", default="16M")
    args = parser.parse_args()
    for n in args.procs:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "advisor",
                "cluster",
                "--local",
                str(n),
                "--json",
                "--max-size",
                args.max_size,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            check=False,
        )
        if not done.stdout.strip():
            print(f"{n} processes: no report (exit {done.returncode})\n{done.stderr[-2000:]}")
            continue
        report = json.loads(done.stdout)["result"]
        print(f"{n} processes, backend {report['backend']}:")
        print(f"  {'op':<11} {'bytes':>10} {'time us':>10} {'algbw GB/s':>11} {'busbw GB/s':>11}")
        for c in report["collectives"]:
            print(
                f"  {c['op']:<11} {c['bytes']:>10,} {c['seconds'] * 1e6:>10,.0f} "
                f"{c['algbw_gbs']:>11.3f} {c['busbw_gbs']:>11.3f}"
            )
        for link in report["links"]:
            print(f"  rank 0 <-> rank {link['rank']}: {link['gbs']:.3f} GB/s")
        print()


if __name__ == "__main__":
    main()
