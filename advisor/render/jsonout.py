"""JSON output: every command's result in one envelope, errors included."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from advisor import __version__

ENVELOPE_VERSION = 1


def envelope(command: str, result: BaseModel | None = None, error: str | None = None) -> str:
    body: dict[str, Any] = {
        "schema_version": ENVELOPE_VERSION,
        "advisor_version": __version__,
        "command": command,
    }
    if result is not None:
        body["result"] = result.model_dump(mode="json")
    if error is not None:
        body["error"] = {"message": error, "exit_code": 2}
    return json.dumps(body, indent=2, ensure_ascii=False)
