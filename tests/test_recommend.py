"""`advisor recommend`: the jobs with known answers, your machine first, rent or buy, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.estimate.job import Job
from advisor.knowledge.cards import load_cards
from advisor.knowledge.models import load_models, resolve_model
from advisor.knowledge.prices import load_prices
from advisor.recommend import capabilities, job_size, recommend
from tests.conftest import Cli, one_error_line
from tests.machines import install_machine, load_machine

CARDS = load_cards(include_user_config=False).cards
BY_NAME = {c.name: c for c in CARDS}


def rec(cli: Cli, *args: str, code: int = 0) -> dict[str, Any]:
    return cli.json("recommend", *args, "--no-here", code=code)["result"]


def option(r: dict[str, Any], card: str) -> dict[str, Any]:
    return next(o for o in r["options"] if o["card"] == card)


def test_7b_lora_fits_24gb_cards(cli: Cli) -> None:
    r = rec(
        cli,
        "llama-2-7b",
        "--task",
        "lora",
        "--precision",
        "bf16",
        "--batch",
        "1",
        "--seq",
        "512",
        "--grad-checkpointing",
        "--segment",
        "consumer",
    )
    for card in ("GeForce RTX 3090", "GeForce RTX 4090"):
        o = option(r, card)
        assert o["fits"] and o["task"] == "lora" and o["gpus"] == 1
    assert r["best_value"] is not None and not r["best_value"]["degraded"]


def test_7b_full_finetune_needs_more_than_one_80gb_card(cli: Cli) -> None:
    r = rec(cli, "llama-2-7b", "--task", "finetune", "--precision", "bf16", "--segment", "datacenter")
    a100 = option(r, "A100 SXM4 80GB")
    assert a100["fits"] and a100["gpus"] >= 2 and a100["plan"] == "zero3" and a100["task"] == "finetune"
    assert a100["needs"] == ["sxm_baseboard"]


def test_70b_fp16_inference_needs_two_80gb_cards(cli: Cli) -> None:
    r = rec(cli, "llama-2-70b", "--task", "inference", "--precision", "fp16", "--segment", "datacenter")
    h100 = option(r, "H100 SXM5 80GB")
    assert h100["fits"] and h100["gpus"] >= 2 and h100["precision"] == "fp16" and h100["plan"] == "tensor"


def test_budget_excludes_and_says_why(cli: Cli) -> None:
    r = rec(
        cli,
        "llama-2-7b",
        "--task",
        "lora",
        "--grad-checkpointing",
        "--seq",
        "512",
        "--budget",
        "700",
        "--segment",
        "consumer",
    )
    assert r["best_value"]["buy_usd"] <= 700
    over = option(r, "GeForce RTX 4090")
    assert over["verdict"] == "over_budget"
    assert all(o["verdict"] for o in r["options"])


def test_every_runner_up_gets_one_verdict(cli: Cli) -> None:
    r = rec(cli, "gpt2-xl", "--task", "finetune")
    winner = r["best_value"]["card"]
    for o in r["options"]:
        assert (o["verdict"] == "best_value") == (o["card"] == winner)
    text = cli("recommend", "gpt2-xl", "--task", "finetune", "--no-here").stdout
    assert "best value" in text and "Buy:" in text


def test_rent_or_buy(cli: Cli) -> None:
    r = rec(
        cli,
        "llama-2-7b",
        "--task",
        "lora",
        "--grad-checkpointing",
        "--seq",
        "512",
        "--tokens",
        "2B",
        "--segment",
        "consumer",
    )
    o = option(r, "GeForce RTX 4090")
    assert o["rent"] is not None and o["rent"]["date"] and o["rent"]["source"].startswith("http")
    assert o["rent"]["kind"] == "on-demand"
    assert o["rent_usd_for_job"] == pytest.approx(
        o["rent"]["usd_per_hour"] / o["rent"]["gpus"] * o["job_hours"], rel=1e-6
    )
    # buying pays off when the rent saved, less the power the own card draws, pays for it and a host
    power = o["power_w"] / 1000 * r["assumptions"]["electricity_usd_per_kwh"]
    rent_h = o["rent"]["usd_per_hour"] / o["rent"]["gpus"]
    assert o["break_even_hours"] == pytest.approx((o["buy_usd"] + o["host_usd"]) / (rent_h - power), rel=1e-6)
    assert r["prices_oldest"] <= r["prices_newest"]


def test_text_says_how_old_prices_are(cli: Cli) -> None:
    out = cli("recommend", "llama-2-7b", "--task", "lora", "--no-here")
    assert out.exit_code == 0
    assert "Prices dated" in out.stdout and "months)" in out.stdout and "Buy:" in out.stdout


def test_user_prices_win(cli: Cli, tmp_path: Path) -> None:
    mine = tmp_path / "prices.yaml"
    mine.write_text(
        yaml.safe_dump(
            {
                "schema_version": 1,
                "street": [
                    {
                        "card": "GeForce RTX 4090",
                        "condition": "new",
                        "usd": 100,
                        "date": "2026-11",
                        "source": "my local shop",
                    }
                ],
            }
        )
    )
    r = rec(
        cli,
        "llama-2-7b",
        "--task",
        "lora",
        "--grad-checkpointing",
        "--seq",
        "512",
        "--prices",
        str(mine),
        "--segment",
        "consumer",
    )
    assert r["best_value"]["card"] == "GeForce RTX 4090"
    assert r["best_value"]["price"]["origin"] == str(mine)


def test_your_machine_first(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_machine(load_machine("healthy_rtx3090"), tmp_path, monkeypatch)
    fits = cli.json("recommend", "llama-2-7b", "--task", "lora", "--grad-checkpointing", "--seq", "512")[
        "result"
    ]["your_machine"]
    assert fits["code"] in ("fits", "faster_upgrade") and fits["option"]["task"] == "lora"
    lighter = cli.json("recommend", "llama-2-13b", "--task", "finetune")["result"]["your_machine"]
    assert lighter["code"] == "lighter_only" and lighter["option"]["task"] == "qlora"
    assert "runs this only as QLoRA" in cli("recommend", "llama-2-13b", "--task", "finetune").stdout
    short = cli.json("recommend", "llama-2-70b", "--task", "finetune")["result"]["your_machine"]
    assert short["code"] in ("cannot", "cannot_no_upgrade")
    assert (
        "your GeForce RTX 3090 cannot run this"
        in cli("recommend", "llama-2-70b", "--task", "finetune").stdout
    )


def test_check_ends_with_what_the_machine_can_do(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_machine(load_machine("healthy_rtx3090"), tmp_path, monkeypatch)
    out = cli("check")
    assert "What one GeForce RTX 3090 can do:" in out.stdout
    assert "LoRA fine-tuning: up to" in out.stdout
    caps = {c["task"]: c["largest"] for c in cli.json("check")["result"]["capabilities"]}
    assert caps["inference in fp16"] is not None


def test_capabilities_grow_with_memory() -> None:
    presets = load_models()
    small = capabilities(BY_NAME["GeForce RTX 3060 12GB"], presets)
    big = capabilities(BY_NAME["A100 SXM4 80GB"], presets)
    size = {m.display_name: m.params for m in presets}
    for s, b in zip(small, big, strict=True):
        assert size.get(b.largest or "", 0) >= size.get(s.largest or "", 0)


def test_pure_api_known_answer() -> None:
    model, job = resolve_model("llama-2-70b"), Job(task="inference", precision="fp16")
    r = recommend(model, job, CARDS, load_prices(), job_size(model, job), max_gpus=1, segment="datacenter")
    h100 = next(o for o in r.options if o.card == "H100 SXM5 80GB")
    assert h100.gpus == 1 and h100.precision in ("int8", "int4") and h100.degraded


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["llama-2-7b", "--budget", "-5"], "--budget must be a positive amount"),
        (["llama-2-7b", "--segment", "gaming"], "'gaming' is not one of 'consumer'"),
        (["llama-2-7b", "--max-gpus", "0"], "--max-gpus must be between 1 and 64"),
        (["llama-2-7b", "--tokens", "lots"], "--tokens must be a count"),
        (["llama-2-7b", "--task", "qlora", "--precision", "fp32"], "QLoRA computes in 16-bit"),
        (["nonsense-model"], "unknown model"),
    ],
)
def test_bad_input(args: list[str], words: str, cli: Cli) -> None:
    assert words in one_error_line(cli("recommend", *args, "--no-here"))


def test_bad_price_file(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("street: [ {card: x\n")
    assert "not valid YAML" in one_error_line(cli("recommend", "gpt2", "--prices", str(bad), "--no-here"))
    bad.write_text(
        yaml.safe_dump(
            {"street": [{"card": "x", "condition": "new", "usd": -1, "date": "2026-01", "source": "s"}]}
        )
    )
    assert "street[0].usd: Input should be greater than 0" in one_error_line(
        cli("recommend", "gpt2", "--prices", str(bad), "--no-here")
    )
    bad.write_text(
        yaml.safe_dump(
            {
                "cloud": [
                    {
                        "provider": "x",
                        "instance": "i",
                        "gpu": "g",
                        "gpus": 1,
                        "usd_per_hour": 1,
                        "date": "last week",
                        "source": "s",
                    }
                ]
            }
        )
    )
    assert "date must look like" in one_error_line(
        cli("recommend", "gpt2", "--prices", str(bad), "--no-here")
    )
