"""The one wire format between advisor and its workers: marked JSON lines on stdout.

Workers run as scripts in the target interpreter (standard library only, advisor need not be
installed there); they load this file by path. advisor reads with `record`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

MARK = "@@advisor@@ "


def emit(stage: str, **data: object) -> None:
    """One stage record, printed and flushed at once (a crash later keeps it)."""
    sys.stdout.write(MARK + json.dumps(dict(stage=stage, **data), default=str) + "\n")
    sys.stdout.flush()


def record(line: str) -> dict[str, Any] | None:
    """The record a marked line holds; None for any other line. Raises ValueError for a marked
    line that is not a stage record (garbage from the target)."""
    if not line.startswith(MARK):
        return None
    try:
        value = json.loads(line[len(MARK) :])
    except RecursionError:
        raise ValueError("nested too deep") from None
    if not isinstance(value, dict) or not isinstance(value.get("stage"), str):
        raise ValueError("not a stage record")
    return value
