"""`advisor cluster` on real torch.distributed (gloo) over loopback: nodes started by torch's own
launcher, each with its own recorded NVML, a planted inconsistency, and a rank that dies."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from advisor.cluster.report import Link, busbw, slow_links
from tests.conftest import REPO, Cli, one_error_line
from tests.machines import FAKES

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="needs the CPU torch the README's test command installs"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def node_env(tmp_path: Path, name: str, driver: str, cuda: int) -> dict[str, str]:
    machine = tmp_path / f"{name}.yaml"
    machine.write_text(yaml.safe_dump({"driver": driver, "cuda_driver_version": cuda, "gpus": []}))
    cuda_home = tmp_path / "cuda"
    cuda_home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "ADVISOR_FAKE_NVML": str(machine),
        "CUDA_HOME": str(cuda_home),
        "ADVISOR_CONFIG_DIR": str(tmp_path / "config"),
        "PYTHONPATH": os.pathsep.join([str(FAKES / "nvml_site"), str(REPO)]),
        "OMP_NUM_THREADS": "1",
    }


def torchrun(nnodes: int, node_rank: int, nproc: int, port: int, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        str(nnodes),
        "--node-rank",
        str(node_rank),
        "--nproc-per-node",
        str(nproc),
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(port),
        "-m",
        "advisor",
        "cluster",
        *args,
    ]


def test_two_nodes_disagree_on_the_driver(tmp_path: Path) -> None:
    port = free_port()
    args = ("--json", "--timeout", "30", "--max-size", "256K")
    first = subprocess.Popen(
        torchrun(2, 0, 2, port, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=node_env(tmp_path, "a", "535.104.05", 12020),
    )
    second = subprocess.Popen(
        torchrun(2, 1, 1, port, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=node_env(tmp_path, "b", "550.54.14", 12040),
    )
    out, err = first.communicate(timeout=120)
    second.communicate(timeout=60)
    assert first.returncode != 0, err  # a failing finding: exit 1 from rank 0
    report = json.loads(out)["result"]
    assert report["world_size"] == 3 and report["joined"] == [0, 1, 2]
    assert [n["ranks"] for n in report["nodes"]] == [[0, 1], [2]]
    drivers = [n["snapshot"]["nvml"]["driver_version"]["value"] for n in report["nodes"]]
    assert drivers == ["535.104.05", "550.54.14"]
    found = {f["id"]: f for f in report["findings"]}
    assert found["driver-differs"]["severity"] == "fail"
    assert found["cuda-driver-differs"]["severity"] == "warn"
    assert "torch-differs" not in found  # the same torch on both
    ops = {(c["op"], c["bytes"]) for c in report["collectives"]}
    assert ("all_reduce", 256 * 1024) in ops
    # all_gather's result is world x (size // world) elements: 3 ranks round 256 KiB down a little
    gathered = max(b for op, b in ops if op == "all_gather")
    assert 256 * 1024 - 12 <= gathered <= 256 * 1024
    for c in report["collectives"]:
        assert c["algbw_gbs"] > 0
        assert c["busbw_gbs"] == pytest.approx(busbw(c["op"], c["algbw_gbs"], 3))
    assert [link["rank"] for link in report["links"]] == [1, 2]


def test_a_rank_that_dies_is_a_finding_not_a_hang(tmp_path: Path) -> None:
    port = free_port()
    env = node_env(tmp_path, "a", "550.54.14", 12040)
    advisor = subprocess.Popen(
        torchrun(2, 0, 1, port, "--json", "--timeout", "20"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    # The other node's torchrun starts a worker that joins the process group and dies.
    cmd = torchrun(2, 1, 1, port)
    dying = subprocess.Popen(
        [*cmd[: cmd.index("-m", 3)], str(FAKES / "dying_rank.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    out, err = advisor.communicate(timeout=120)
    dying.wait(timeout=30)
    assert advisor.returncode != 0, err
    report = json.loads(out)["result"]
    lost = next(f for f in report["findings"] if f["id"] == "rank-lost")
    assert lost["severity"] == "fail"
    assert report["joined"] == [0]
    assert report["nodes"][0]["snapshot"] is not None  # what rank 0 knows is still reported


def test_local_launch(cli: Cli) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "advisor", "cluster", "--local", "2", "--json", "--max-size", "64K"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["result"]
    assert report["world_size"] == 2 and report["backend"] == "gloo"


def test_outside_torchrun_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RANK", raising=False)
    assert "not started by torchrun" in one_error_line(cli("cluster"))
    assert "--max-size must be" in one_error_line(cli("cluster", "--max-size", "huge"))
    assert "'mpi' is not one of 'nccl', 'gloo'" in one_error_line(cli("cluster", "--backend", "mpi"))


def test_slow_link_rule() -> None:
    links = [
        Link(rank=r, hostname=f"n{r}", bytes=1 << 20, seconds=1.0, gbs=g)
        for r, g in ((1, 10.0), (2, 11.0), (3, 2.0))
    ]
    (f,) = slow_links(links)
    assert f.id == "slow-link" and "rank 3" in f.evidence[0]
    assert slow_links(links[:2]) == []


def test_local_launch_in_a_python_without_torch_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    """`advisor cluster --local` runs torchrun in the chosen Python; without torch there it says so,
    as one line (or the JSON envelope), instead of torchrun's traceback."""
    import venv

    venv.create(tmp_path / "bare", with_pip=False)
    bare = str(tmp_path / "bare/bin/python")
    line = one_error_line(cli("cluster", "--local", "2", "--python", bare))
    assert line.startswith(f"advisor: error: {bare} (from --python) has no torch")
    result = cli("cluster", "--local", "2", "--json", env={"ADVISOR_PYTHON": bare})
    assert result.exit_code == 2
    assert "has no torch" in json.loads(result.stdout)["error"]["message"]
