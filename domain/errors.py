"""Typed errors of the core.

`UserError` and its subclasses describe mistakes a user can fix (a bad value, a missing file, an
unknown symbol). The CLI renders them as one line and exits with code 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; its message is shown as one line."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration value is invalid; the message names the variable, the value and what is allowed."""


class DataError(UserError):
    """Input data is missing, corrupt or inconsistent; the message says which and how to rebuild it."""


class CorruptFile(DataError):
    """A file the program wrote (model registry or bundle, broker state, database) is unreadable or does
    not match its recorded checksum; the message names the file and how to recover."""


class GuardrailBreach(Exception):
    """Raised on a path that must never proceed when a risk limit would be breached (not a user error)."""
