"""Users extend the database: their file adds cards and overrides built-in figures."""

from __future__ import annotations

from pathlib import Path

import yaml

from advisor import paths
from advisor.knowledge.cards import load_cards
from tests.conftest import Cli, one_error_line
from tests.test_cards_schema import GOOD, write


def test_override_changes_only_the_named_fields(tmp_path: Path) -> None:
    builtin = {c.name: c for c in load_cards(include_user_config=False).cards}
    path = write(tmp_path, [{"name": "geforce rtx 3090", "launch_price_usd": 799}])
    db = load_cards([path])
    card = next(c for c in db.cards if c.name == "GeForce RTX 3090")
    assert card.launch_price_usd == 799
    assert card.memory_bandwidth_gbs == builtin["GeForce RTX 3090"].memory_bandwidth_gbs
    assert card.sources == builtin["GeForce RTX 3090"].sources
    assert card.origin == f"built-in + {path}"
    assert len(db.cards) == len(builtin)


def test_override_is_validated(tmp_path: Path) -> None:
    path = write(tmp_path, [{"name": "GeForce RTX 3090", "launch_price_usd": -5}])
    cli = Cli()
    line = one_error_line(cli("cards", "show", "3090", "--cards", str(path)))
    assert "(GeForce RTX 3090).launch_price_usd" in line
    assert str(path) in line


def test_config_dir_file_is_read_and_cli_file_wins(tmp_path: Path, cli: Cli) -> None:
    config = paths.config_dir()
    config.mkdir(parents=True)
    (config / "cards.yaml").write_text(
        yaml.safe_dump({"cards": [GOOD, {"name": "GeForce RTX 3090", "launch_price_usd": 900}]})
    )
    later = write(tmp_path, [{"name": "GeForce RTX 3090", "launch_price_usd": 650}])
    shown = cli.json("cards", "show", "test card")["result"]
    assert shown["memory_gib"] == 48
    assert cli.json("cards", "show", "3090")["result"]["launch_price_usd"] == 900
    assert cli.json("cards", "show", "3090", "--cards", str(later))["result"]["launch_price_usd"] == 650


def test_cards_env_var_is_a_user_file(tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, [GOOD])
    listed = cli("cards", "list", "--json", env={"ADVISOR_CARDS": str(path)})
    assert listed.exit_code == 0
    assert "Test Card 48GB" in listed.stdout
