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
        count = len(self.problems)
        head = "1 problem" if count == 1 else f"{count} problems"
        return f"configuration has {head}:\n" + "\n".join(f"  {p}" for p in self.problems)


class DatabaseError(NewsdeskError):
    """The database cannot be opened or migrated (for example: written by a newer version)."""


class UserFacingError(NewsdeskError):
    """An error whose message is meant for the Discord user who caused it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
