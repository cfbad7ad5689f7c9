"""Faults advisor must survive: a full disk, hostile target Pythons, Ctrl-C and SIGTERM, a killed
cluster rank. Nothing lost, nothing hung, no process left behind.

The hostile targets are scripts standing in for the interpreter to check (the outside boundary):
each does one thing a broken environment does.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor import procs
from advisor.bench.calibration import results_dir, save
from advisor.bench.results import BenchReport
from advisor.errors import AdvisorError
from tests.conftest import Cli
from tests.test_bench import H100_EVENTS

HOSTILE = {
    # starts a process that leaves the session and keeps stdout open for 25 s
    "escape": (
        "import os, sys, time\nif os.fork() == 0:\n    os.setsid(); time.sleep(25); os._exit(0)\n"
        "sys.exit(0)\n"
    ),
    # never answers and ignores SIGTERM
    "stubborn": "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n",
    # prints without end
    "flood": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    # answers in the right format with the wrong types
    "garbage": (
        'M = \'@@advisor@@ \'\nprint(M + \'{"stage": "start"}\')\nprint(M + \'{"stage": ["torch"]}\')\n'
        'print(M + \'{"stage": "done"}\')\n'
    ),
    # dies of a segmentation fault
    "segfault": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
}


def hostile(tmp_path: Path, kind: str) -> str:
    path = tmp_path / f"python-{kind}"
    path.write_text(f"#!{sys.executable}\n" + HOSTILE[kind])
    path.chmod(0o755)
    return str(path)


def leftovers(python: str) -> list[int]:
    """PIDs of processes running ``python`` as an interpreter (advisor's own command line, which
    names it after --python, does not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(a.decode(errors="replace") == python for a in argv[:2]) and b"--python" not in argv:
                found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def _no_stray_process(tmp_path: Path) -> Iterator[None]:
    yield
    assert procs.live() == []
    # only the escaped grandchild may remain (it left advisor's session on purpose): end it
    for pid in [p for kind in HOSTILE for p in leftovers(str(tmp_path / f"python-{kind}"))]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def check_json(cli: Cli, python: str, *extra: str) -> dict[str, object]:
    result = cli("check", "--python", python, "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["result"]  # type: ignore[no-any-return]


def findings(result: dict[str, object]) -> dict[str, str]:
    return {f["id"]: f["severity"] for f in result["findings"]}  # type: ignore[attr-defined,index]


def test_an_escaped_grandchild_does_not_hold_the_check(cli: Cli, tmp_path: Path) -> None:
    started = time.monotonic()
    result = check_json(cli, hostile(tmp_path, "escape"), "--timeout", "3")
    assert time.monotonic() - started < 6  # not the grandchild's 25 s
    assert findings(result)["target-left-process"] == "warn"
    target = result["snapshot"]["target"]  # type: ignore[index]
    assert target["escaped_pids"], target


def test_a_target_that_ignores_sigterm_is_ended_at_its_deadline(cli: Cli, tmp_path: Path) -> None:
    python = hostile(tmp_path, "stubborn")
    started = time.monotonic()
    result = check_json(cli, python, "--timeout", "2")
    assert time.monotonic() - started < 6
    assert findings(result)["torch-probe-hang"] == "fail"
    assert leftovers(python) == []


def test_a_flood_of_output_is_cut_and_said(cli: Cli, tmp_path: Path) -> None:
    result = check_json(cli, hostile(tmp_path, "flood"), "--timeout", "3")
    assert findings(result)["target-output-cut"] == "warn"


@pytest.mark.parametrize(
    ("kind", "finding"), [("garbage", "torch-probe-garbage"), ("segfault", "torch-probe-crashed")]
)
def test_a_broken_answer_is_a_finding(kind: str, finding: str, cli: Cli, tmp_path: Path) -> None:
    assert finding in findings(check_json(cli, hostile(tmp_path, kind), "--timeout", "10"))


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_check_ends_its_worker(sig: signal.Signals, code: int, tmp_path: Path) -> None:
    python = hostile(tmp_path, "stubborn")
    run = subprocess.Popen(
        [sys.executable, "-m", "advisor", "check", "--python", python, "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not leftovers(python) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(python), "the worker never started"
    run.send_signal(sig)
    _, err = run.communicate(timeout=20)
    assert run.returncode == code
    assert err.strip().splitlines()[-1] == "advisor: interrupted"
    time.sleep(0.2)
    assert leftovers(python) == []


# --- bench results: never lost -------------------------------------------------------------------


def report(host: str = "box", tps: float = 1.0) -> BenchReport:
    from advisor.bench.runner import assemble
    from advisor.knowledge.cards import load_cards

    workload = {"vocab": 32768, "hidden": 1536, "layers": 8, "heads": 16, "seq": 1024}
    events = [dict(e, tokens_per_second=tps) if e["stage"] == "train" else e for e in H100_EVENTS]
    dev = assemble("cuda:0", events, load_cards(include_user_config=False).cards, workload, 8)
    return BenchReport(host=host, taken_at="2026-12-01T00:00:00+00:00", python="p", budget_s=1, devices=[dev])


def test_a_full_disk_keeps_the_previous_results(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))
    first = save(report(tps=1.0))
    before = first.read_bytes()

    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.MonkeyPatch.context() as disk, pytest.raises(AdvisorError, match="No space left on device"):
        disk.setattr(Path, "write_text", full)
        save(report(tps=2.0))
    assert first.read_bytes() == before  # whole, not emptied
    assert [p.name for p in results_dir().iterdir()] == [first.name]  # no temporary file left


def test_two_runs_saving_at_once_never_interleave(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADVISOR_DATA_DIR", str(tmp_path / "data"))

    def run(tps: float) -> None:
        for _ in range(20):
            save(report(tps=tps))

    threads = [threading.Thread(target=run, args=(float(n),)) for n in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (only,) = list(results_dir().iterdir())
    assert BenchReport.model_validate_json(only.read_text()).devices  # a whole report


def fake_bench_python(tmp_path: Path) -> str:
    """A target Python whose bench worker answers at once with recorded events."""
    lines = [dict(e, device="cpu") if e["stage"] == "start" else e for e in H100_EVENTS]
    body = "".join(f"print({('@@advisor@@ ' + json.dumps(e))!r})\n" for e in [*lines, {"stage": "done"}])
    path = tmp_path / "python-bench"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return str(path)


def test_bench_prints_its_results_even_when_they_cannot_be_saved(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    python = fake_bench_python(tmp_path)
    result = cli("bench", "--device", "cpu", "--python", python, env={"ADVISOR_DATA_DIR": str(blocker)})
    assert result.exit_code == 2
    assert "matmul" in result.stdout.lower() or "TFLOPS" in result.stdout  # the results came first
    *progress, line = [x for x in result.stderr.splitlines() if x.strip()]
    assert all(p.startswith("bench cpu: ") for p in progress)
    assert line.startswith("advisor: error: cannot save the results to") and "printed above" in line


# --- a cluster rank killed ------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the rank by its environment in /proc")
def test_a_killed_rank_is_reported_as_lost() -> None:
    pytest.importorskip("torch")
    run = subprocess.Popen(
        [
            *(sys.executable, "-m", "advisor", "cluster", "--local", "2", "--python", sys.executable),
            *("--json", "--max-size", "64K", "--timeout", "20"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                env = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if "advisor cluster" in cmd and b"RANK=1" in env and "torch.distributed.run" not in cmd:
                os.kill(int(entry.name), signal.SIGKILL)
                killed = int(entry.name)
                break
        time.sleep(0.05)
    out, _ = run.communicate(timeout=180)
    assert killed is not None, "rank 1 never started"
    assert run.returncode == 1
    doc = json.loads(out[out.index("{") :])
    assert [f["id"] for f in doc["result"]["findings"]] == ["rank-lost"]
