"""Finding the processes a command started, through /proc (Linux), to prove none is left."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

MARKER = "NEWSDESK_TEST_TREE"


def new_marker() -> dict[str, str]:
    """An environment entry every process of one command tree inherits."""
    return {MARKER: uuid.uuid4().hex}


def marked(env: dict[str, str]) -> list[int]:
    """Live processes (zombies excluded) carrying this tree's marker in their environment."""
    needle = f"{MARKER}={env[MARKER]}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out
