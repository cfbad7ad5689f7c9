"""Take a snapshot: start the target-Python worker first, probe NVML and the host while it runs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from advisor import __version__
from advisor.probe.discover import Choice, candidates, same_environment, torch_on_disk
from advisor.probe.host import probe_host
from advisor.probe.nvml import probe_nvml
from advisor.probe.spawn import DEFAULT_TIMEOUT_S
from advisor.probe.target import finish_target_probe, start_target_probe
from advisor.snapshot import OtherPython, Snapshot, TargetPython

HOST_ROOT = Path("/")  # where /proc, /sys and /dev are read from


def take_snapshot(
    python: Choice,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    probe_python: bool = True,
    frameworks: bool = False,
) -> Snapshot:
    # Importing torch is the slowest step (about a second); everything else overlaps with it.
    running = (
        start_target_probe(python.executable, timeout_s, frameworks=frameworks) if probe_python else None
    )
    host = probe_host(HOST_ROOT)
    nvml = probe_nvml()
    target = (
        finish_target_probe(running)
        if running is not None
        else TargetPython(executable=python.executable, status="not_run", detail="--no-python")
    )
    update: dict[str, object] = {"chosen_by": python.chosen_by}
    if target.torch is None and target.status in ("ok", "failed"):
        update["others"] = other_pythons(python.executable)
    return Snapshot(
        advisor_version=__version__,
        taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=host,
        nvml=nvml,
        target=target.model_copy(update=update),
    )


def other_pythons(chosen: str) -> list[OtherPython]:
    """The other interpreters on this machine, each with the torch found in its site-packages."""
    out = []
    for candidate in candidates():
        if same_environment(candidate.executable, chosen):
            continue
        found = torch_on_disk(candidate.executable)
        out.append(
            OtherPython(
                executable=candidate.executable,
                found_by=candidate.found_by,
                torch_path=found[0] if found else None,
                torch_version=found[1] if found else None,
            )
        )
    return out
