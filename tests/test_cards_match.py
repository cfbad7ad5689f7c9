"""Forgiving card names for people, exact matching for what NVML reports."""

from __future__ import annotations

import pytest

from advisor.errors import NotFoundError
from advisor.knowledge.cards import load_cards
from advisor.knowledge.match import find_card, match_nvml, tokens
from tests.conftest import Cli, one_error_line

CARDS = load_cards(include_user_config=False).cards


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("3090", "GeForce RTX 3090"),
        ("rtx 3090", "GeForce RTX 3090"),
        ("RTX3090", "GeForce RTX 3090"),
        ("3090 ti", "GeForce RTX 3090 Ti"),
        ("rtx 4090", "GeForce RTX 4090"),
        ("titan rtx", "NVIDIA Titan RTX"),
        ("v100 sxm2 32", "Tesla V100 SXM2 32GB"),
        ("V100-SXM2-16GB", "Tesla V100 SXM2 16GB"),
        ("v100 pcie 16gb", "Tesla V100 PCIe 16GB"),
        ("Tesla V100-SXM2-32GB", "Tesla V100 SXM2 32GB"),
        ("a100 sxm 80", "A100 SXM4 80GB"),
        ("h100 pcie", "H100 PCIe 80GB"),
        ("t4", "Tesla T4"),
    ],
)
def test_people_names(query: str, expected: str) -> None:
    assert find_card(query, CARDS).name == expected


@pytest.mark.parametrize("query", ["v100", "a100", "v100 32", "h100"])
def test_ambiguous_names_list_candidates(query: str) -> None:
    with pytest.raises(NotFoundError) as info:
        find_card(query, CARDS)
    message = str(info.value)
    assert "matches several cards" in message
    assert message.count(",") >= 1


def test_unknown_name_suggests(cli: Cli) -> None:
    line = one_error_line(cli("cards", "show", "rtx 9090"))
    assert "no card matches 'rtx 9090'" in line


@pytest.mark.parametrize(
    ("nvml_name", "pci", "expected"),
    [
        # Names as nvmlDeviceGetName returns them (nvidia-smi --query-gpu=name prints the same).
        ("Tesla V100-SXM2-16GB", None, "Tesla V100 SXM2 16GB"),
        ("Tesla V100-SXM2-32GB", None, "Tesla V100 SXM2 32GB"),
        ("Tesla V100-PCIE-16GB", None, "Tesla V100 PCIe 16GB"),
        ("NVIDIA GeForce RTX 3090", None, "GeForce RTX 3090"),
        ("GeForce RTX 3090", None, "GeForce RTX 3090"),
        ("NVIDIA TITAN RTX", None, "NVIDIA Titan RTX"),
        ("TITAN RTX", None, "NVIDIA Titan RTX"),
        ("NVIDIA A100-SXM4-80GB", None, "A100 SXM4 80GB"),
        ("NVIDIA H100 80GB HBM3", None, "H100 SXM5 80GB"),
        # An unknown board string, known by its PCI device id.
        ("NVIDIA Graphics Device", "0x2204", "GeForce RTX 3090"),
    ],
)
def test_nvml_names(nvml_name: str, pci: str | None, expected: str) -> None:
    card = match_nvml(nvml_name, pci, CARDS)
    assert card is not None
    assert card.name == expected


def test_unknown_gpu_is_none() -> None:
    assert match_nvml("NVIDIA Graphics Device", "0xFFFF", CARDS) is None


def test_tokens() -> None:
    assert tokens("NVIDIA GeForce RTX3090") == ["rtx", "3090"]
    assert tokens("Tesla V100-SXM2-32GB") == ["v100", "sxm2", "32gb"]
    assert tokens("A100 80 GB") == ["a100", "80gb"]
