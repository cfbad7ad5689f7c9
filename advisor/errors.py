"""The one exception family users can cause. Only the CLI translates it (one line, exit 2)."""

from __future__ import annotations


class AdvisorError(Exception):
    """Bad input from the user: a file, a name, a size. Rendered as one line, exit code 2."""

    exit_code = 2


class KnowledgeError(AdvisorError):
    """A data file (built-in or the user's) is unreadable or fails validation."""


class NotFoundError(AdvisorError):
    """A name (card, model, rule) that matches nothing, or several things."""
