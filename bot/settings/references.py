"""``${NAME}`` references to the environment in a URL of the config file (a feed's token, a
git remote's, the database's password): checked when the file is read, expanded from the
environment in one place, the expanded values kept so that messages can hide them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NOT_EXPANDABLE = frozenset({"DISCORD_TOKEN"})


def checked_references(url: str) -> str:
    """``url`` if each of its references names an environment variable that may be used."""
    for name in _REFERENCE.findall(url):
        if not _NAME.match(name):
            raise ValueError(f"${{{name}}} is not the name of an environment variable")
        if name in _NOT_EXPANDABLE:
            raise ValueError(f"${{{name}}} cannot be used in a URL (it is the bot's token)")
    return url


@dataclass(frozen=True)
class Expanded:
    text: str  # the template with every reference replaced ('' for one that is not set)
    missing: tuple[str, ...]  # names not set (or empty) in the environment, once each
    secrets: tuple[str, ...]  # the values put in, to be hidden in any message


def expand(template: str, environ: Mapping[str, str], *, encode: bool = False) -> Expanded:
    """``encode``: put the values in percent-encoded, for a password with ``@`` or ``/`` in it
    (the database URL, whose values are passwords as written, not parts of a URL)."""
    names = _REFERENCE.findall(template)
    missing = tuple(dict.fromkeys(name for name in names if not environ.get(name)))

    def value(match: re.Match[str]) -> str:
        found = environ.get(match.group(1), "")
        return quote(found, safe="") if encode else found

    text = _REFERENCE.sub(value, template)
    values = [environ.get(name, "") for name in names]
    if encode:
        values += [quote(v, safe="") for v in values]
    return Expanded(text, missing, tuple(dict.fromkeys(v for v in values if v)))


def unset_line(where: str, name: str) -> str:
    """The config problem for a reference whose variable is not set."""
    return (
        f"{where}: ${{{name}}} is not set in the environment "
        f"(export {name}=... before starting Newsdesk)"
    )
