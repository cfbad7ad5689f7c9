"""`advisor recommend --plot FILE`: price against speed, as a picture (matplotlib, optional).

Log price on x, speed on y; the cards on the Pareto front (nothing both cheaper and faster)
joined; the budget as a vertical line; filled marks for cards that fit the job as asked, hollow
for those that fit only as a lighter job; your own machine as a star.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError
from advisor.files import write_atomically
from advisor.recommend import Option, Recommendation
from advisor.render.recommend import UNIT_SHORT, card_cell

FORMATS = (".png", ".svg", ".pdf")


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points no other point beats on both price (lower) and speed (higher), by price."""
    front: list[tuple[float, float]] = []
    for price, speed in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or speed > front[-1][1]:
            front.append((price, speed))
    return front


def plot_recommendation(r: Recommendation, path: Path) -> Path:
    if path.suffix.lower() not in FORMATS:
        raise AdvisorError(f"--plot {path}: give a .png, .svg or .pdf file name")
    if not path.expanduser().parent.is_dir():
        raise AdvisorError(f"--plot {path}: no such folder {path.expanduser().parent}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise AdvisorError(
            "--plot needs matplotlib, which is not installed: pip install 'gpu-advisor[plot]'"
        ) from None
    shown = [o for o in r.options if o.fits and o.buy_usd and o.throughput]
    if not shown:
        raise AdvisorError("--plot: no card both fits this job and has a price to plot")
    fig, ax = plt.subplots(figsize=(8, 5))
    _draw(ax, r, shown)
    write_atomically(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lower()[1:], bbox_inches="tight"))
    plt.close(fig)
    return path


def _draw(ax: Any, r: Recommendation, shown: list[Option]) -> None:
    unit = UNIT_SHORT[r.size.unit]
    for o in shown:
        filled = not o.degraded
        ax.scatter(
            o.buy_usd,
            o.throughput,
            s=40,
            c="tab:blue" if filled else "none",
            edgecolors="tab:blue",
            zorder=3,
        )
        ax.annotate(
            card_cell(o), (o.buy_usd, o.throughput), fontsize=7, xytext=(4, 3), textcoords="offset points"
        )
    front = pareto([(o.buy_usd or 0, o.throughput or 0) for o in shown if not o.degraded])
    if front:
        ax.plot([p for p, _ in front], [s for _, s in front], color="tab:green", lw=1, label="Pareto front")
    if r.budget_usd:
        ax.axvline(r.budget_usd, color="tab:red", ls="--", lw=1, label=f"budget ${r.budget_usd:,.0f}")
    mine = r.your_machine.option if r.your_machine else None
    if mine is not None and mine.fits and mine.throughput:
        ax.scatter(
            [mine.buy_usd or min(o.buy_usd or 1 for o in shown)],
            [mine.throughput],
            marker="*",
            s=160,
            c="gold",
            edgecolors="black",
            zorder=4,
            label="your machine",
        )
    ax.scatter([], [], c="tab:blue", label="fits as asked")
    ax.scatter([], [], c="none", edgecolors="tab:blue", label="only as a lighter job")
    ax.set_xscale("log")
    ax.set_xlabel("price of the cards (USD, log scale)")
    ax.set_ylabel(unit)
    ax.set_title(f"{r.model} · {r.task}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
