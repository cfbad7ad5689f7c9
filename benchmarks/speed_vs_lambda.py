"""advisor's predicted training speed of each card against Lambda's measured BERT-Large results.

    python benchmarks/speed_vs_lambda.py

Prints, for both published sets in data/benchmarks.yaml, the measured and predicted throughput
relative to the set's V100, the ratio, and the rank correlation. The 2023 set is the one the
model's bandwidth constant was fitted on; the 2020-21 set is independent of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_speed_vs_published import relative, sets, spearman


def main() -> None:
    for name, s in sets().items():
        cards, measured, model = relative(name)
        print(f"{name}: {s['source']}")
        print(f"  {'card':<32} {'measured':>9} {'advisor':>8} {'ratio':>6}")
        for card, m, p in zip(cards, measured, model, strict=True):
            print(f"  {card:<32} {m:>9.2f} {p:>8.2f} {p / m:>6.2f}")
        print(
            f"  rank correlation {spearman(measured, model):.3f}; worst ratio "
            f"{max(abs(p / m - 1) for m, p in zip(measured, model, strict=True)):.0%}\n"
        )


if __name__ == "__main__":
    main()
