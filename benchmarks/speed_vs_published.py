"""advisor's speed model against every published measurement set, fitted and held out.

    python benchmarks/speed_vs_published.py

For each set in data/benchmarks.yaml: its source, whether a constant was fitted on it, each card's
measured and predicted speed relative to the set's reference card, the rank correlation and the
share of cards within 25 %. The bar (tests/test_speed_vs_published.py) is on the held-out sets:
mean Spearman >= 0.9 and >= 80 % of cards within 25 %.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.published_speed import compare, sets


def main() -> None:
    held = []
    for s in sets():
        c = compare(s)
        if c.role == "holdout":
            held.append(c)
        print(f"{c.name} [{c.workload}, {c.role}] {s['source']}")
        print(f"  {'card':<32} {'measured':>9} {'advisor':>8} {'ratio':>6} {'abs':>6}")
        for card, m, p, a in zip(c.cards, c.measured, c.predicted, c.absolute, strict=True):
            print(f"  {card:<32} {m:>9.2f} {p:>8.2f} {p / m:>6.2f} {a:>6.2f}")
        print(f"  Spearman {c.spearman:.3f}; within 25%: {c.within:.0%}\n")
    cards = sum(len(c.cards) for c in held)
    within = sum(c.within * len(c.cards) for c in held) / cards
    print(
        f"held out: {len(held)} sets, {cards} cards; mean Spearman "
        f"{statistics.mean(c.spearman for c in held):.3f}; within 25%: {within:.0%}"
    )


if __name__ == "__main__":
    main()
