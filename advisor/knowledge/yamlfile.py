"""Reading a YAML knowledge file and turning validation errors into one readable line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from advisor.errors import KnowledgeError

# libyaml's loader is about ten times faster; `advisor check` must feel instant.
_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):  # type: ignore[misc]
    """Safe loading that refuses what YAML would silently accept: a key given twice (the
    second would win unseen) and keys that are not strings."""


def _mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be text, found {key!r}", key_node.start_mark
            )
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is given twice", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LOADER = _Loader


def read_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file, or a KnowledgeError naming the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnowledgeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise KnowledgeError(f"{path}: is a folder, not a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot read: {exc}") from None
    try:
        loaded = yaml.load(text, Loader=_LOADER)
    except RecursionError:
        raise KnowledgeError(f"{path}: not valid YAML: nested too deep") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise KnowledgeError(f"{path}: not valid YAML{where}: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise KnowledgeError(f"{path}: expected a mapping at the top level, found {type(loaded).__name__}")
    return loaded


def check_schema(path: Path, doc: dict[str, Any], supported: int) -> None:
    """A file's schema_version, when given, is this advisor's: a number, not text."""
    version = doc.get("schema_version", supported)
    if isinstance(version, str) and version.strip().isdigit():
        raise KnowledgeError(f"{path}: schema_version must be a number ({version}), not the text {version!r}")
    if version != supported or isinstance(version, bool):
        raise KnowledgeError(
            f"{path}: schema_version {version!r} is not supported (this advisor reads {supported})"
        )


def entry_label(entry: object, index: int, collection: str) -> str:
    """``cards[3] (GeForce RTX 3090)``: the position, and the name when the entry has one."""
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"{collection}[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")


def format_validation_error(path: Path, label: str, exc: ValidationError) -> str:
    """One line: ``file: entry.field: message`` for the first problem, and how many others."""
    errors = exc.errors()
    first = errors[0]
    loc = _loc(first["loc"])
    where = f"{label}.{loc}" if loc else label
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return f"{path}: {where}: {_message(first)}" + (more if len(errors) > 1 else "")


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    msg = str(error["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg
