"""The questions buyers ask (tests/buyer_questions.yaml), each through `advisor recommend` end to
end, held to the answer an experienced engineer gives (sources beside each case)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Cli

CASES = yaml.safe_load((Path(__file__).parent / "buyer_questions.yaml").read_text())["cases"]


def _card(o: dict[str, Any] | None) -> str | None:
    return o["card"] if o else None


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_buyer_question(case: dict[str, Any], cli: Cli) -> None:
    r = cli.json("recommend", *case["args"], "--no-here")["result"]
    best, fastest = r["best_value"], r["fastest"] or r["best_value"]
    why = f"{case['id']}: {case['why']}"
    if "best" in case:
        assert _card(best) in case["best"], why
    if "gpus" in case:
        assert best["gpus"] == case["gpus"], why
    if "plan" in case:
        assert best["plan"] == case["plan"], why
    if "fastest" in case:
        assert _card(fastest) in case["fastest"], why
        if r["budget_usd"]:
            assert fastest["buy_usd"] <= r["budget_usd"]
    if "fastest_gpus" in case:
        assert fastest["gpus"] == case["fastest_gpus"], why
    for card in case.get("not_picked", []):
        assert card not in (_card(r["best_value"]), _card(r["fastest"])), why
    offered = {o["card"] for o in r["options"]}
    for card in case.get("not_offered", []):
        assert card not in offered, why
    for card in case.get("offered", []):
        assert card in offered, why
    for card, wanted in case.get("needs", {}).items():
        assert next(o for o in r["options"] if o["card"] == card)["needs"] == wanted, why
    if "rent" in case:
        assert r["rent"] is not None and r["rent"]["decision"] == case["rent"], why
    if "rent_card" in case:
        assert r["rent"]["option"]["card"] in case["rent_card"], why
    for note in case.get("notes", []):
        assert note in r["notes"], why
    if "decode" in case:
        low, high = case["decode"]
        assert low <= best["throughput"] <= high, why
    if "hours" in case:
        low, high = case["hours"]
        hours = next(o for o in r["options"] if o["card"] == case["hours_card"])["job_hours"]
        assert low <= hours <= high, why
    if "max_gpus_any" in case:
        assert max(o["gpus"] for o in r["options"]) <= case["max_gpus_any"], why


def test_every_case_has_a_source() -> None:
    assert all(c["source"].startswith("https://") and c["why"] for c in CASES)
