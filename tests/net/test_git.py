"""Running git safely: no other transport runs, symlinks are never followed, credentials never
reach the disk and never appear in a message."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bot.net.git import Repository
from bot.net.git_remote import GitError, GitPolicy, Remote
from tests.support.git_remote import GitRemote


async def test_ext_and_other_transports_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for url in (f"ext::sh -c touch% {marker}", "ssh://localhost/x.git", "http://127.0.0.1:1/x"):
        with pytest.raises(GitError):
            Remote.of(url, "x")
        # Even if such a URL reached git, its protocol.allow refuses it.
        repo = Repository(tmp_path / "checkout", Remote(url, None, "x", ()), GitPolicy())
        with pytest.raises(GitError, match=r"not allowed|unsupported"):
            await repo.fetch("main")
    assert not marker.exists()


async def test_a_symlink_is_checked_out_as_a_plain_file(tmp_path: Path) -> None:
    remote = GitRemote(tmp_path / "git")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the archive")
    remote.article("_news/1.md", 1)
    (remote.work / "_news" / "2.md").symlink_to(secret)
    remote.commit()
    repo = Repository(tmp_path / "checkout", Remote.of(remote.url, remote.url), GitPolicy())
    head, fresh = await repo.fetch(None)
    assert fresh and head == remote.head()
    assert [e.path for e in await repo.files(head, ("_news",))] == ["_news/1.md"]
    await repo.checkout(head)
    link = repo.directory / "_news" / "2.md"
    assert not link.is_symlink() and link.read_text() == str(secret)


def test_credentials_become_a_header_and_are_redacted() -> None:
    remote = Remote.of(
        "https://x-access-token:t0ps3cret@git.example.com/org/repo.git",
        "https://x-access-token:***@git.example.com/org/repo.git",
    )
    assert remote.url == "https://git.example.com/org/repo.git"
    token = base64.b64encode(b"x-access-token:t0ps3cret").decode()
    assert remote.header == f"Authorization: Basic {token}"
    message = remote.redact(
        "fatal: could not read t0ps3cret from https://git.example.com/org/repo.git"
    )
    assert "t0ps3cret" not in message and remote.display in message


async def test_the_remote_and_its_credentials_are_not_written_to_the_checkout(
    tmp_path: Path,
) -> None:
    remote = GitRemote(tmp_path / "git")
    remote.article("_news/1.md", 1)
    remote.commit()
    # A header given as an https remote's credentials would be: never written anywhere.
    url = remote.url
    repo = Repository(
        tmp_path / "checkout",
        Remote(url, "Authorization: Basic c2VjcmV0LXRva2Vu", url, ("secret-token",)),
        GitPolicy(),
    )
    await repo.fetch(None)
    for path in (repo.directory / ".git").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"c2VjcmV0LXRva2Vu" not in data and remote.url.encode() not in data, path


async def test_a_missing_git_binary_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on it
    repo = Repository(tmp_path / "checkout", Remote.of("file:///nowhere.git", "x"), GitPolicy())
    with pytest.raises(GitError, match="git is not installed: install git to use git sources"):
        await repo.fetch("main")
