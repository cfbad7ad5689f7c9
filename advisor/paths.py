"""Where advisor's files live: the shipped knowledge and the user's own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """The built-in knowledge folder.

    A wheel carries it as ``advisor/data``; a source checkout or an editable install keeps it at
    the repository root, beside the package.
    """
    for candidate in (_PACKAGE / "data", _PACKAGE.parent / "data"):
        if (candidate / "cards.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"advisor's data folder is missing (looked in {_PACKAGE / 'data'} and "
        f"{_PACKAGE.parent / 'data'}); reinstall gpu-advisor"
    )


def _platform_dir(env: str, posix_default: str, mac_sub: str, win_env: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override).expanduser() / "advisor"
    if sys.platform == "win32":
        return Path(os.environ.get(win_env) or Path.home()) / "advisor"
    if sys.platform == "darwin":
        return Path.home() / "Library" / mac_sub / "advisor"
    return Path.home() / posix_default / "advisor"


def config_dir() -> Path:
    """The user's config folder: ``$ADVISOR_CONFIG_DIR``, else the platform convention."""
    explicit = os.environ.get("ADVISOR_CONFIG_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return _platform_dir("XDG_CONFIG_HOME", ".config", "Application Support", "APPDATA")


def user_data_dir() -> Path:
    """Where measurements are kept: ``$ADVISOR_DATA_DIR``, else the platform convention."""
    explicit = os.environ.get("ADVISOR_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return _platform_dir("XDG_DATA_HOME", ".local/share", "Application Support", "LOCALAPPDATA")
