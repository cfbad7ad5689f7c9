"""Every kind of bad card file is rejected with one line naming the file, the card and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.errors import KnowledgeError
from advisor.knowledge.cards import load_cards
from tests.conftest import Cli, one_error_line

GOOD: dict[str, Any] = {
    "name": "Test Card 48GB",
    "nvml_names": ["NVIDIA Test Card"],
    "pci_device_ids": ["0x9999"],
    "architecture": "ada",
    "compute_capability": "8.9",
    "memory_gib": 48,
    "memory_type": "GDDR6",
    "memory_bandwidth_gbs": 864,
    "fp32_tflops": 91.6,
    "tf32_tensor_tflops": 90.5,
    "fp16_tensor_tflops": 181,
    "bf16_tensor_tflops": 181,
    "fp8_tensor_tflops": 362,
    "int8_tensor_tops": 362,
    "tdp_w": 300,
    "pcie_gen": 4,
    "nvlink_bandwidth_gbs": 0,
    "release_year": 2023,
    "launch_price_usd": 6800,
    "segment": "workstation",
    "sources": ["https://example.org/datasheet.pdf"],
}


def write(tmp_path: Path, cards: Any, name: str = "mine.yaml", **top: Any) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"schema_version": 1, "cards": cards, **top}))
    return path


def error_for(path: Path) -> str:
    with pytest.raises(KnowledgeError) as info:
        load_cards([path])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_a_good_card_is_added(tmp_path: Path) -> None:
    db = load_cards([write(tmp_path, [GOOD])])
    assert db.cards[-1].name == "Test Card 48GB"
    assert db.cards[-1].origin == str(tmp_path / "mine.yaml")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"tdp_watts": 300}, "tdp_watts", "unknown field"),
        ({"memory_gib": "lots"}, "memory_gib", "valid number"),
        ({"memory_gib": -24}, "memory_gib", "greater than 0"),
        ({"memory_bandwidth_gbs": 9e9}, "memory_bandwidth_gbs", "less than or equal"),
        ({"fp32_tflops": 0}, "fp32_tflops", "greater than 0"),
        ({"release_year": 1999}, "release_year", "greater than or equal"),
        ({"sources": []}, "sources", "at least 1"),
        ({"sources": ["  "]}, "sources", "blank"),
        ({"architecture": "kepler"}, "architecture", "'pascal'"),
        ({"segment": "gaming"}, "segment", "'consumer'"),
        ({"compute_capability": "sm_89"}, "compute_capability", "look like"),
        ({"pci_device_ids": ["2204"]}, "pci_device_ids", "look like"),
        ({"unconfirmed": ["speed"]}, "Test Card 48GB)", "unknown field(s): speed"),
        ({"fp16_tensor_tflops": 0.9}, "Test Card 48GB)", "unit or column mix-up"),
    ],
)
def test_bad_field_names_file_card_and_field(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    message = error_for(write(tmp_path, [{**GOOD, **change}]))
    assert "cards[0] (Test Card 48GB)" in message
    assert field in message
    assert words in message


def test_missing_sources_is_rejected(tmp_path: Path) -> None:
    card = {k: v for k, v in GOOD.items() if k != "sources"}
    message = error_for(write(tmp_path, [card]))
    assert "cards[0] (Test Card 48GB).sources: required field is missing" in message


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    twin = {**GOOD, "nvml_names": ["Other"], "pci_device_ids": []}
    message = error_for(write(tmp_path, [GOOD, {**twin, "name": "Second"}, {**twin, "name": "Second"}]))
    assert "'second' is already used" in message


def test_duplicate_nvml_name_across_cards_is_rejected(tmp_path: Path) -> None:
    twin = {**GOOD, "name": "Another Card", "pci_device_ids": []}
    message = error_for(write(tmp_path, [GOOD, twin]))
    assert "NVML name 'nvidia test card'" in message


def test_new_card_stealing_a_builtin_nvml_name_is_rejected(tmp_path: Path) -> None:
    thief = {**GOOD, "nvml_names": ["NVIDIA GeForce RTX 3090"]}
    assert "already used" in error_for(write(tmp_path, [thief]))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cards: [\n  - name: x\n    memory_gib: [1,\n", "not valid YAML (line"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("schema_version: 1\ncards: {a: 1}\n", "'cards' must be a list"),
        ("schema_version: 1\n", "no 'cards:' list"),
        ("schema_version: 7\ncards: []\n", "schema_version 7 is not supported"),
        ("schema_version: 1\ncards: []\ngpus: []\n", "unknown top-level key(s): gpus"),
        ("schema_version: 1\ncards: [42]\n", "cards[0]: expected a mapping"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert words in error_for(path)


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    assert "no such file" in error_for(tmp_path / "absent.yaml")
    assert "is a folder" in error_for(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "cannot read" in error_for(binary)


def test_bad_file_through_the_cli_is_one_line_exit_2(tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, [{**GOOD, "memory_gib": -1}])
    line = one_error_line(cli("cards", "list", "--cards", str(path)))
    assert f"{path}: cards[0] (Test Card 48GB).memory_gib: Input should be greater than 0" in line


def test_bad_file_in_json_mode_is_a_json_error(tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, [{**GOOD, "memory_gib": -1}])
    body = cli.json("cards", "list", "--cards", str(path), code=2)
    assert "memory_gib" in body["error"]["message"]
    assert body["error"]["exit_code"] == 2
    assert "result" not in body


def test_several_problems_are_counted(tmp_path: Path) -> None:
    message = error_for(write(tmp_path, [{**GOOD, "memory_gib": -1, "tdp_w": -5, "pcie_gen": 99}]))
    assert "(and 2 more problems)" in message
