"""Does `advisor bench` measure the hardware, not Python overhead? Its CPU matmul figure against
the best plain torch.matmul reaches on the same machine, in the same run.

    python benchmarks/bench_matmul_vs_torch.py [--python PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

PEER = """
import json, time, torch
best = {}
for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
    for n in (256, 512, 1024, 2048):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        torch.matmul(a, b)
        reps = max(1, int(1e9 / (2 * n ** 3)))
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(reps):
                torch.matmul(a, b)
            tflops = 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e12
            best[name] = max(best.get(name, 0.0), tflops)
print(json.dumps(best))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    bench = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor",
            "bench",
            "--device",
            "cpu",
            "--python",
            args.python,
            "--seconds",
            "20",
            "--no-save",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = {m["name"]: m["value"] for m in json.loads(bench.stdout)["result"]["devices"][0]["matmul"]}
    peer = json.loads(
        subprocess.run([args.python, "-c", PEER], capture_output=True, text=True, check=True).stdout
    )
    print(f"{'dtype':<6} {'advisor bench':>14} {'best torch.matmul':>18} {'ratio':>6}")
    for dtype, best in peer.items():
        ours = measured.get(dtype)
        ratio = f"{ours / best:6.2f}" if ours else "   n/a"
        print(f"{dtype:<6} {ours or 0:>14.3f} {best:>18.3f} {ratio}  (TFLOPS; target ratio >= 0.90)")


if __name__ == "__main__":
    main()
