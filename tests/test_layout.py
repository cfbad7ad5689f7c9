"""Screens fit the terminal: 80 columns first, columns dropped by priority and named, names whole,
no padding in a pipe, colour as NO_COLOR / FORCE_COLOR ask."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from advisor.knowledge.catalog import LIST_COLUMNS, sort_field
from advisor.knowledge.models import load_models
from advisor.render.console import colour_wanted
from advisor.render.fit import Column, fit
from tests.conftest import Cli, assert_fits, one_error_line

EIGHTY = {"COLUMNS": "80"}


def test_cards_list_fits_80_columns_and_names_what_it_left_out(cli: Cli) -> None:
    result = cli("cards", "list", env=EIGHTY)
    assert result.exit_code == 0, result.output
    assert_fits(result.output, 80)
    header = result.output.splitlines()[1].split()
    assert header[0] == "Card", header
    footer = next(line for line in result.output.splitlines() if line.startswith("Not shown"))
    assert "--wide" in result.output
    shown = {h for h, _ in LIST_COLUMNS if h in result.output.splitlines()[1]}
    assert shown >= {"Card", "Memory", "GB/s", "BF16", "FP16"}
    assert "Segment" in footer or "Segment" in result.output  # every column is shown or named
    for header_word, _ in LIST_COLUMNS:
        assert header_word in result.output, header_word
    for name in ("NVIDIA RTX 6000 Ada Generation", "H100 SXM5 80GB"):
        assert any(line.startswith(name) for line in result.output.splitlines()), name


def test_cards_list_wide_shows_every_column(cli: Cli) -> None:
    result = cli("cards", "list", "--wide", env=EIGHTY)
    header = result.output.splitlines()[1].split()
    assert "Not shown" not in result.output
    assert {"Segment", "TF32", "FP8", "Launch", "Arch"} <= set(header)


def test_the_sorted_column_is_always_shown(cli: Cli) -> None:
    result = cli("cards", "list", "--sort", "segment", env={"COLUMNS": "60"})
    assert "Segment" in result.output.splitlines()[1]
    assert_fits(result.output, 80)


@pytest.mark.parametrize(
    ("word", "field"),
    [
        ("bf16", "bf16_tensor_tflops"),
        ("GB/s", "memory_bandwidth_gbs"),
        ("tdp", "tdp_w"),
        ("year", "release_year"),
        ("cc", "compute_capability"),
        ("launch_price_usd", "launch_price_usd"),
    ],
)
def test_sort_takes_headers_and_fields(word: str, field: str) -> None:
    assert sort_field(word) == field


def test_sort_by_a_header_orders_the_cards(cli: Cli) -> None:
    listed = cli.json("cards", "list", "--sort", "bf16", "--desc")["result"]["cards"]
    values = [c["bf16_tensor_tflops"] for c in listed if c["bf16_tensor_tflops"] is not None]
    assert values == sorted(values, reverse=True) and len(values) > 10
    ccs = [c["compute_capability"] for c in cli.json("cards", "list", "--sort", "cc")["result"]["cards"]]
    assert ccs.index("12.0") > ccs.index("8.9") > ccs.index("7.0")


def test_unknown_sort_names_the_headers(cli: Cli) -> None:
    line = one_error_line(cli("cards", "list", "--sort", "speed"))
    assert "bf16" in line and "gb/s" in line


def test_models_keeps_every_preset_name_whole(cli: Cli) -> None:
    result = cli("models", env=EIGHTY)
    assert_fits(result.output, 80)
    first_words = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    for m in load_models():
        assert m.name in first_words, m.name


def test_fit_keeps_priorities_and_never_the_half_of_a_group() -> None:
    cols = [
        Column("a", 0, cells=["x" * 30]),
        Column("b", 2, cells=["y" * 30]),
        Column("c", 1, cells=["z" * 30]),
    ]
    shown, dropped = fit(cols, 64)
    assert [c.header for c in shown] == ["a", "c"] and [c.header for c in dropped] == ["b"]
    assert fit(cols, None) == (cols, [])
    assert [c.header for c in fit(cols, 10)[0]] == ["a"]  # the first is kept however narrow


@pytest.mark.parametrize(
    ("env", "tty", "wanted"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": ""}, True, True),  # https://no-color.org: only a non-empty value counts
        ({"NO_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": ""}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
    ],
)
def test_colour_follows_no_color_and_force_color(env: dict[str, str], tty: bool, wanted: bool) -> None:
    assert colour_wanted(tty, env) is wanted


def _advisor(*args: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}
    done = subprocess.run(
        [sys.executable, "-m", "advisor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_piped_output_is_plain_and_unpadded_unless_colour_is_forced() -> None:
    plain = _advisor("cards", "list", "--sort", "bf16")
    assert "\x1b[" not in plain
    assert all(line == line.rstrip() for line in plain.splitlines())
    assert "\x1b[" in _advisor("cards", "list", FORCE_COLOR="1")


def test_cards_show_prints_every_source_url_whole(cli: Cli) -> None:
    result = cli("cards", "show", "3090", env=EIGHTY)
    card = cli.json("cards", "show", "3090")["result"]
    lines = {line.strip() for line in result.output.splitlines()}
    assert card["sources"] and all(url in lines for url in card["sources"])
    assert "…" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        [
            "estimate",
            "llama-2-7b",
            "--task",
            "lora",
            "--grad-checkpointing",
            "--seq",
            "512",
            "--card",
            "3090",
        ],
        ["estimate", "70B", "--task", "inference", "--precision", "int4", "--card", "a100 80 sxm"],
        ["recommend", "llama-3.1-8b", "--task", "qlora", "--budget", "800", "--no-here"],
        ["rules"],
        ["bench", "--help"],
        ["--help"],
    ],
)
def test_planning_screens_fit_80_columns(args: list[str], cli: Cli) -> None:
    result = cli(*args, env=EIGHTY)
    assert result.exit_code == 0, result.output
    assert_fits(result.output, 80)
