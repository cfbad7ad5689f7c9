"""Take a snapshot: start the target-Python worker first, probe NVML and the host while it runs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from advisor import __version__
from advisor.probe.host import probe_host
from advisor.probe.nvml import probe_nvml
from advisor.probe.spawn import DEFAULT_TIMEOUT_S
from advisor.probe.target import finish_target_probe, start_target_probe
from advisor.snapshot import Snapshot, TargetPython

HOST_ROOT = Path("/")  # where /proc, /sys and /dev are read from


def take_snapshot(
    python: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    probe_python: bool = True,
    frameworks: bool = False,
) -> Snapshot:
    # Importing torch is the slowest step (about a second); everything else overlaps with it.
    running = start_target_probe(python, timeout_s, frameworks=frameworks) if probe_python else None
    host = probe_host(HOST_ROOT)
    nvml = probe_nvml()
    target = (
        finish_target_probe(running)
        if running is not None
        else TargetPython(executable=python, status="not_run", detail="--no-python")
    )
    return Snapshot(
        advisor_version=__version__,
        taken_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=host,
        nvml=nvml,
        target=target,
    )
