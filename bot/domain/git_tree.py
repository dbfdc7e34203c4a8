"""What git says about a repository's files, read (pure): which files are articles, and what
changed between two commits.

Only regular files are ingested: a symlink (mode 120000) is never followed (its text is not
an article either) and a submodule (160000) is never fetched. Inside the repository the same
files are taken as in a source directory: article suffixes, nothing under a hidden name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.ingest import SCANNED_SUFFIXES

_REGULAR = frozenset({"100644", "100755"})


@dataclass(frozen=True, slots=True)
class TreeEntry:
    path: str  # relative to the repository, with "/"
    size: int  # bytes


@dataclass(frozen=True, slots=True)
class Changes:
    """The article files that a move from one commit to another adds or changes, and those it
    deletes (a file that became a symlink or a submodule is deleted, as far as articles go)."""

    changed: tuple[str, ...]
    deleted: tuple[str, ...]
    changed_bytes: int = 0  # the size of the changed files, when known


def is_article_file(path: str, mode: str) -> bool:
    """Whether a file of the repository is read as an article (file), by its mode and name."""
    if mode not in _REGULAR:
        return False
    parts = path.split("/")
    if any(part.startswith(".") for part in parts):
        return False
    name = parts[-1]
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in SCANNED_SUFFIXES


def parse_tree(output: str) -> tuple[list[TreeEntry], int]:
    """The article files in ``git ls-tree -r -l -z`` output, and the size of every blob
    listed (articles or not: what a checkout writes)."""
    entries: list[TreeEntry] = []
    total = 0
    for record in output.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        fields = meta.split()
        if len(fields) != 4 or fields[1] != "blob":
            continue  # a submodule (commit), or nothing we know
        mode, size_text = fields[0], fields[3]
        size = int(size_text) if size_text.isdigit() else 0
        total += size
        if is_article_file(path, mode):
            entries.append(TreeEntry(path, size))
    return entries, total


def parse_diff(output: str) -> Changes:
    """The article files changed and deleted, from ``git diff --raw -z --no-renames`` output
    (``:oldmode newmode oldsha newsha status`` then the path, each ending in NUL)."""
    fields = output.split("\0")
    changed: list[str] = []
    deleted: list[str] = []
    n = 0
    while n + 1 < len(fields):
        meta, path = fields[n], fields[n + 1]
        n += 2
        parts = meta.lstrip(":").split()
        if len(parts) != 5:
            continue
        old_mode, new_mode, status = parts[0], parts[1], parts[4][:1]
        was = is_article_file(path, old_mode)
        now = status != "D" and is_article_file(path, new_mode)
        if now:
            changed.append(path)
        elif was:
            deleted.append(path)
    return Changes(tuple(changed), tuple(deleted))


def pathspecs(paths: tuple[str, ...]) -> list[str]:
    """The configured parts of a repository as git pathspecs, taken literally (no globs)."""
    return [f":(literal){path}" for path in paths]


def blob_ids(output: str) -> tuple[list[str], list[str]]:
    """The blobs a move drops and those it brings (``git diff --raw -z --no-renames
    --no-abbrev`` output), every file counted: what a checkout's size changes by."""
    fields = output.split("\0")
    dropped: list[str] = []
    brought: list[str] = []
    for n in range(0, len(fields) - 1, 2):
        parts = fields[n].lstrip(":").split()
        if len(parts) != 5:
            continue
        old_mode, new_mode, old_id, new_id, _ = parts
        if old_mode[:2] in ("10", "12") and old_id.strip("0"):  # a file or a symlink (a file here)
            dropped.append(old_id)
        if new_mode[:2] in ("10", "12") and new_id.strip("0"):
            brought.append(new_id)
    return dropped, brought
