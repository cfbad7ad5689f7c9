"""`advisor rules` names every finding id check can print; `advisor rules ID` explains one from
data/findings.yaml and the upstream texts of data/compat.yaml."""

from __future__ import annotations

import pytest

from advisor.compat.engine import rule_list
from advisor.knowledge.compat import load_compat
from advisor.knowledge.finding_docs import load_finding_docs
from tests.conftest import Cli, assert_fits, one_error_line

RULES = rule_list()
EMITTED = {e.id: e for r in RULES for e in r.emits}


def test_every_emitted_id_has_a_doc_and_nothing_else_does() -> None:
    docs = load_finding_docs()
    assert set(docs) == set(EMITTED)
    messages = load_compat().messages
    for finding_id, doc in docs.items():
        assert set(doc.messages) <= set(messages), finding_id
        if set(EMITTED[finding_id].severities) - {"ok"}:
            assert doc.fix, f"{finding_id} can be a problem: its doc needs a fix"


def test_rules_lists_every_finding_id_and_rule_at_80_columns(cli: Cli) -> None:
    result = cli("rules", env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert_fits(result.output, 80)
    words = set(result.output.split())
    assert set(EMITTED) <= words
    assert {r.id for r in RULES} <= words


def test_one_id_is_explained_with_its_upstream_text(cli: Cli) -> None:
    result = cli("rules", "[driver-too-old-for-cuda]", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for part in ("what it means", "why it matters", "the fix", "error text", "rule driver-cuda"):
        assert part in text, part
    assert "The NVIDIA driver on your system is too old (found version <found>)." in text
    assert "https://docs.nvidia.com/cuda/cuda-runtime-api/group__CUDART__TYPES.html" in result.output
    assert_fits(result.output.replace("https://", "$ https://"), 80)  # URLs stand whole


def test_a_rule_id_explains_each_of_its_ids(cli: Cli) -> None:
    body = cli.json("rules", "pcie-link")["result"]
    assert [x["id"] for x in body] == ["pcie-link-narrow", "pcie-link-slow-under-load"]
    assert all(x["rule"]["id"] == "pcie-link" and x["means"] and x["fix"] for x in body)


def test_symptoms_and_causes_are_linked() -> None:
    from advisor.compat.explain import explain

    (x,) = explain("torch-cuda-unavailable", load_finding_docs(), load_compat())
    assert "driver-too-old-for-cuda" in x.explained_by
    (cause,) = explain("driver-too-old-for-cuda", load_finding_docs(), load_compat())
    assert "torch-cuda-unavailable" in cause.explains


@pytest.mark.parametrize(("typed", "hint"), [("drivr-cuda", "driver-cuda"), ("zzz-nothing", "advisor rules")])
def test_an_unknown_id_is_one_line_with_a_hint(typed: str, hint: str, cli: Cli) -> None:
    line = one_error_line(cli("rules", typed))
    assert hint in line
    assert cli.json("rules", typed, code=2)["error"]["message"] == line.removeprefix("advisor: error: ")
