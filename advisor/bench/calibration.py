"""Saved bench results: written after `advisor bench`, read by `estimate` to calibrate speed."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from pydantic import ValidationError

from advisor import paths
from advisor.bench.results import BenchReport
from advisor.errors import AdvisorError
from advisor.files import write_atomically


def results_dir() -> Path:
    return paths.user_data_dir() / "bench"


def save(report: BenchReport) -> Path:
    """Write the results atomically (a temporary file beside them, then os.replace): on a full
    disk or a crash the previous results stay whole, and two runs never interleave."""
    folder = results_dir()
    path = folder / f"{_safe(report.host)}.json"
    text = report.model_dump_json(indent=2)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise AdvisorError(
            f"cannot save the results to {path}: {exc.strerror or exc} (they are printed above; "
            "set ADVISOR_DATA_DIR to a writable folder)"
        ) from None
    return path


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name) or "host"


def load_all() -> list[BenchReport]:
    folder = results_dir()
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(BenchReport.model_validate(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, ValidationError):
            continue  # a damaged file is ignored, never fatal: it is only a calibration
    return out


def measured_mfu(card_name: str, precision: str) -> tuple[float, str] | None:
    """The training MFU `advisor bench` measured on this card, newest first, with its source."""
    this_host = socket.gethostname()
    best: tuple[str, float, str] | None = None
    for report in load_all():
        for dev in report.devices:
            t = dev.training
            if dev.card != card_name or t is None or t.mfu is None or t.precision != precision:
                continue
            where = "this machine" if report.host == this_host else report.host
            candidate = (
                report.taken_at,
                t.mfu,
                f"measured by advisor bench on {where}, {report.taken_at[:10]}",
            )
            if best is None or candidate[0] > best[0]:
                best = candidate
    return (best[1], best[2]) if best else None
