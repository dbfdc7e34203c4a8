"""Finding source files: every article file under the configured paths, with its stat."""

from __future__ import annotations

import logging
import os
import stat as stat_module
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from bot.domain.ingest import SCANNED_SUFFIXES
from bot.errors import UsageError
from bot.store.articles import StoredFile

log = logging.getLogger(__name__)


class SourceError(UsageError):
    """A path given to ingest does not exist or cannot be read."""


class SourceFile(NamedTuple):
    """A file found by :func:`discover`, with its current stat. Compact: 100,000 of these
    are held at once."""

    display: str  # the path as the user sees it
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @property
    def key(self) -> str:
        """The file's identity in the store: its absolute path."""
        return os.path.abspath(self.display)

    def same_stat(self, stored: StoredFile) -> bool:
        return (
            self.size == stored.size
            and self.mtime_ns == stored.mtime_ns
            and self.inode == stored.inode
            and self.ctime_ns == stored.ctime_ns
        )


def discover(paths: Iterable[Path], unreadable: list[str] | None = None) -> list[SourceFile]:
    """Every file under ``paths`` (recursively), sorted by path.

    A file named explicitly is taken whatever its suffix (and rejected later if unsupported);
    inside directories only .md/.markdown/.yaml/.yml files are taken (.json exports only
    when named), hidden entries are skipped, and a file reached twice (symlinks, nested
    roots) is taken once. Raises SourceError for a path that does not exist. A directory
    that cannot be listed is skipped with a warning, and added to ``unreadable``.
    """
    found: list[SourceFile] = []
    seen: dict[int, set[int]] = {}  # device -> inodes

    def add(display: str, st: os.stat_result) -> None:
        inodes = seen.setdefault(st.st_dev, set())
        if st.st_ino in inodes:
            return
        inodes.add(st.st_ino)
        found.append(SourceFile(display, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))

    for root in paths:
        text = os.fspath(root)
        try:
            st = os.stat(text)
        except FileNotFoundError:
            raise SourceError(f"{text}: no such file or directory") from None
        except OSError as exc:
            raise SourceError(f"{text}: {exc.strerror or exc}") from None
        if stat_module.S_ISDIR(st.st_mode):
            _walk(text, add, unreadable)
        else:
            add(text, st)
    found.sort()
    return found


def stat_files(paths: Iterable[Path]) -> list[SourceFile]:
    """``paths`` (files, named by who knows they are there) with their stat, sorted; one that
    is not there after all is left out, with a warning."""
    found: list[SourceFile] = []
    for path in paths:
        text = os.fspath(path)
        try:
            st = os.lstat(text)
        except OSError as exc:
            log.warning("cannot stat %s: %s", text, exc.strerror or exc)
            continue
        if stat_module.S_ISREG(st.st_mode):
            found.append(SourceFile(text, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
    found.sort()
    return found


def _walk(
    directory: str, add: Callable[[str, os.stat_result], None], unreadable: list[str] | None
) -> None:
    stack = [directory]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:  # lazily: a directory may hold 100,000 files
                for entry in entries:
                    _visit(entry, stack, add)
        except OSError as exc:
            log.warning("cannot read directory %s: %s", current, exc.strerror or exc)
            if unreadable is not None:
                unreadable.append(current)


def _visit(
    entry: os.DirEntry[str], stack: list[str], add: Callable[[str, os.stat_result], None]
) -> None:
    name = entry.name
    if name.startswith("."):
        return
    try:
        if entry.is_dir():
            stack.append(entry.path)
            return
        dot = name.rfind(".")
        if dot <= 0 or name[dot:].lower() not in SCANNED_SUFFIXES or not entry.is_file():
            return
        add(entry.path, entry.stat())
    except OSError as exc:
        log.warning("cannot stat %s: %s", entry.path, exc.strerror or exc)
