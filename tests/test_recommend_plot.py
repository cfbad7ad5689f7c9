"""`advisor recommend --plot FILE`: an optional picture, written atomically, never a traceback."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from advisor.render.plot import pareto
from tests.conftest import Cli, one_error_line

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
ARGS = ("recommend", "llama-3.1-8b", "--task", "qlora", "--budget", "2000", "--no-here")


def test_pareto_front_keeps_what_nothing_beats() -> None:
    points = [(600, 636), (218, 230), (2000, 1293), (675, 632), (2550, 1757), (7000, 1200)]
    assert pareto(points) == [(218, 230), (600, 636), (2000, 1293), (2550, 1757)]


@pytest.mark.skipif(HAS_MATPLOTLIB, reason="matplotlib is installed here")
def test_plot_without_matplotlib_says_how_to_get_it(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "cards.png"
    assert "pip install 'gpu-advisor[plot]'" in one_error_line(cli(*ARGS, "--plot", str(out)))
    assert not out.exists()


def test_plot_file_name_and_folder_are_checked(cli: Cli, tmp_path: Path) -> None:
    assert "give a .png, .svg or .pdf" in one_error_line(cli(*ARGS, "--plot", str(tmp_path / "x.gif")))
    assert "no such folder" in one_error_line(cli(*ARGS, "--plot", str(tmp_path / "no" / "x.png")))


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="needs matplotlib (pip install 'gpu-advisor[plot]')")
def test_plot_writes_the_picture(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "cards.png"
    out.write_bytes(b"old")
    assert cli(*ARGS, "--plot", str(out)).exit_code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cards")]  # no temp left
