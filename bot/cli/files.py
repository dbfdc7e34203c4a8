"""Files a command writes: always new ones, in a directory that exists and may be written."""

from __future__ import annotations

import os
from pathlib import Path

from bot.errors import UsageError


def check_new_file(path: Path) -> None:
    """UsageError unless ``path`` can be created: nothing is ever written over."""
    if path.exists():
        raise UsageError(f"{path} exists; choose a new file name")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such directory")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"{path}: cannot create files in {path.parent} (no write permission, or a read-only "
            "file system)"
        )
