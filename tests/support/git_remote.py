"""A real git remote for tests: a local bare repository and a working clone that commits and
pushes to it (add, change, delete, force-push), with the real git binary."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from tests.support.articles import article_fields, markdown

_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


class GitRemote:
    """``remote.url`` is the file:// URL of the bare repository; ``write``, ``delete`` and
    ``commit`` change the working clone and push it (branch ``main``)."""

    def __init__(self, base: Path, branch: str = "main") -> None:
        self.bare = base / "remote.git"
        self.work = base / "work"
        self.branch = branch
        self.bare.mkdir(parents=True)
        git("init", "--quiet", "--bare", f"--initial-branch={branch}", ".", cwd=self.bare)
        self.work.mkdir()
        git("init", "--quiet", f"--initial-branch={branch}", ".", cwd=self.work)
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def write(self, path: str, text: str) -> Path:
        target = self.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def article(self, path: str, n: int, **overrides: Any) -> Path:
        return self.write(path, markdown(article_fields(n, **overrides)))

    def delete(self, path: str) -> None:
        (self.work / path).unlink()

    def commit(self, message: str = "change", *, force: bool = False) -> str:
        git("add", "--all", ".", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git(
            "push", "--quiet", *(["--force"] if force else []), "origin", self.branch, cwd=self.work
        )
        return self.head()

    def rewrite(self, message: str = "rewritten") -> str:
        """Replace the last commit with a new one holding the working clone: a force-push."""
        git("add", "--all", ".", cwd=self.work)
        git("commit", "--quiet", "--amend", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", self.branch, cwd=self.work)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work).strip()
