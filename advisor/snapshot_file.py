"""Reading a recorded snapshot (`advisor probe --json > box.json`) back in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from advisor.errors import AdvisorError
from advisor.snapshot import SNAPSHOT_SCHEMA_VERSION, Snapshot


def load_snapshot(path: Path) -> Snapshot:
    """A snapshot file: the `advisor probe --json` envelope, or a bare snapshot object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AdvisorError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AdvisorError(f"{path}: cannot read: {exc}") from None
    return parse_snapshot(text, str(path))


def parse_snapshot(text: str, path: str) -> Snapshot:
    """A snapshot from its JSON text; ``path`` names it in errors."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdvisorError(f"{path}: not JSON (line {exc.lineno}): {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
        raise AdvisorError(f"{path}: not a snapshot advisor can read: {str(exc)[:100]}") from None
    if isinstance(doc, dict) and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    if not isinstance(doc, dict):
        raise AdvisorError(f"{path}: expected a snapshot object, found {type(doc).__name__}")
    version = doc.get("schema_version")
    if version == 1:
        doc = _from_v1(doc)
        version = doc["schema_version"]
    if version != SNAPSHOT_SCHEMA_VERSION:
        raise AdvisorError(
            f"{path}: snapshot schema_version {version!r} is not supported "
            f"(this advisor reads {SNAPSHOT_SCHEMA_VERSION}); record it again with advisor probe"
        )
    try:
        return Snapshot.model_validate(doc)
    except RecursionError:
        raise AdvisorError(f"{path}: not a valid snapshot: nested too deep") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AdvisorError(f"{path}: not a valid snapshot: {where}: {first['msg']}") from None


def _from_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 kept host reads as plain values, where an empty list meant "none" or "could not
    read" alike: keep what was seen, and mark an empty one as not known rather than as none."""
    host = doc.get("host")
    if not isinstance(host, dict):
        return {**doc, "schema_version": 2}
    host = dict(host)
    unknown = {"unavailable": "not_probed", "detail": "recorded by an older advisor (schema 1)"}
    for key in ("loaded_modules", "device_nodes"):
        value = host.get(key)
        host[key] = {"value": value} if isinstance(value, list) and value else unknown
    scanned = host.pop("pci_scanned", False)
    pci = host.get("pci_gpus")
    host["pci_gpus"] = {"value": pci if isinstance(pci, list) else []} if scanned else unknown
    module = host.get("kernel_module_version")
    host["kernel_module_version"] = {"value": module} if isinstance(module, str) else unknown
    return {**doc, "host": host, "schema_version": 2}
