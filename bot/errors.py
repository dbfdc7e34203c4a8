"""Exceptions shared across layers. Anything a Discord user may see subclasses UserFacingError."""

from __future__ import annotations

from collections.abc import Sequence


class NewsdeskError(Exception):
    """Base class for Newsdesk's own errors."""


class ConfigError(NewsdeskError):
    """The configuration cannot be used; ``problems`` holds one ``key: problem`` line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"configuration: {self.problems[0]}"
        head = f"{len(self.problems)} problems"
        return f"configuration has {head}:\n" + "\n".join(f"  {p}" for p in self.problems)


class UsageError(NewsdeskError):
    """The command cannot do what was asked; the message is one line saying why (exit 2)."""


class CommandFailed(NewsdeskError):
    """The command could not do its work (say, Discord cannot be reached); one line (exit 1)."""


class DatabaseError(UsageError):
    """The database cannot be opened, created or migrated (for example: written by a newer
    version, or a directory that cannot be created)."""


class UserFacingError(NewsdeskError):
    """An error whose message is meant for the Discord user who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
