"""Running git for a git source, safely.

* Only https and file:// remotes: git's ``protocol.allow`` is ``never`` but for those two, so
  ``ext::`` and the other transports cannot run a command, whatever URL reaches git.
* No configuration but ours: the system and global git config are ignored (no credential
  helpers, URL rewrites, LFS filters or hooks of the machine), there is no prompt, no
  submodule is fetched, symlinks are checked out as plain files (never followed).
* Credentials never touch the disk: the remote's URL and an ``Authorization`` header made of
  the URL's user part reach git through ``GIT_CONFIG_*`` environment variables, never the
  checkout's ``.git/config`` (nor the command line, which other users can read). Every
  message git writes is redacted (the secrets and the full URL) before it is raised.
* Size: the objects a fetch receives are watched while it runs and the fetch is killed past
  ``max_repo_bytes``; what a checkout would write is summed before it is written.
* Time: each command that talks to the remote is bound by the fetch timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

from bot.domain.git_tree import (
    Changes,
    TreeEntry,
    blob_ids,
    parse_diff,
    parse_tree,
    pathspecs,
)
from bot.domain.values import format_size
from bot.net.git_remote import GitError, GitPolicy, Remote

REMOTE_REF = "refs/newsdesk/remote"  # what the last fetch brought
INGESTED_REF = "refs/newsdesk/ingested"  # keeps the last ingested commit from being pruned
SIZE_POLL = 0.2  # seconds between looks at how much a fetch has received
SIZE_FILE = "newsdesk-tree-bytes"  # the last weighed commit and its checkout's size
LOCAL_TIMEOUT = 600.0  # seconds, for a command that only reads or writes the checkout
_PASSED_ENV: tuple[str, ...] = ("PATH", "TMPDIR", "https_proxy", "HTTPS_PROXY", "no_proxy")
_PASSED_ENV += ("NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "GIT_SSL_CAINFO")


class Repository:
    """One git source's checkout: a plain directory with a ``.git`` inside, and no remote
    configured on disk."""

    def __init__(self, directory: Path, remote: Remote, policy: GitPolicy) -> None:
        self.directory = directory
        self.remote = remote
        self.policy = policy

    # -- moving the checkout to the remote's head --------------------------------------------

    async def fetch(self, branch: str | None) -> tuple[str, bool]:
        """Fetch ``branch`` (None: the remote's default); return its commit and whether the
        checkout was (re)made from nothing, so that what it holds is unknown. A checkout that
        cannot fetch is tried once more from nothing: only if that fails too is it the remote's
        fault (GitError), and the old checkout is kept."""
        fresh = not await self._usable()
        if fresh:
            await self._init(self.directory)
        try:
            return await self._fetch_branch(branch, shallow=fresh), fresh
        except GitError as exc:
            if fresh or exc.refused:
                raise
        spare_directory = self.directory.with_name(self.directory.name + ".new")
        spare = Repository(spare_directory, self.remote, self.policy)
        await spare._init(spare.directory)
        try:
            commit = await spare._fetch_branch(branch, shallow=True)
        except GitError:
            await asyncio.to_thread(shutil.rmtree, spare.directory, True)
            raise
        await asyncio.to_thread(_replace_directory, spare.directory, self.directory)
        return commit, True

    async def reclone(self, branch: str | None) -> str:
        """Throw the checkout away and fetch again from nothing (it is broken)."""
        await asyncio.to_thread(shutil.rmtree, self.directory, True)
        await self._init(self.directory)
        return await self._fetch_branch(branch, shallow=True)

    async def checkout(self, commit: str) -> None:
        await self._git("checkout", "--quiet", "--force", "--detach", commit)

    async def mark_ingested(self, commit: str) -> None:
        await self._git("update-ref", INGESTED_REF, commit)

    # -- what the commits hold ---------------------------------------------------------------

    async def has_commit(self, commit: str) -> bool:
        try:
            await self._git("cat-file", "-e", f"{commit}^{{commit}}")
        except GitError:
            return False
        return True

    async def is_ancestor(self, old: str, new: str) -> bool:
        """Whether ``new`` descends from ``old`` (False after a force-push)."""
        try:
            await self._git("merge-base", "--is-ancestor", old, new, quiet=(1,))
        except _Status:
            return False
        return True

    async def files(self, commit: str, paths: tuple[str, ...]) -> list[TreeEntry]:
        """The article files of ``commit`` under ``paths`` (all when empty); refused when the
        whole checkout would exceed ``max_repo_bytes``."""
        whole = await self._git("ls-tree", "-r", "-l", "-z", "--full-tree", commit)
        entries, total = parse_tree(whole)
        self._check_size(total)
        await self._remember_size(commit, total)
        if not paths:
            return entries
        listed = await self._git(
            "ls-tree", "-r", "-z", "--full-tree", "--name-only", commit, "--", *pathspecs(paths)
        )
        wanted = set(listed.split("\0"))
        return [entry for entry in entries if entry.path in wanted]

    async def changes(self, old: str, new: str, paths: tuple[str, ...]) -> Changes:
        out = await self._git(
            "diff",
            "--raw",
            "-z",
            "--no-renames",
            "--no-ext-diff",
            "--no-textconv",
            old,
            new,
            "--",
            *pathspecs(paths),
        )
        changes = parse_diff(out)
        # The checkout's size after the move: the old one's, plus what every changed file
        # (article or not) brings, minus what it drops; weighed from the whole tree when the
        # old size is not known. A repository cannot pass the limit a commit at a time.
        every = await self._git("diff", "--raw", "-z", "--no-renames", "--no-abbrev", old, new)
        dropped, brought = blob_ids(every)
        before = await self._remembered_size(old)
        if before is None:
            whole = await self._git("ls-tree", "-r", "-l", "-z", "--full-tree", new)
            total = parse_tree(whole)[1]
        else:
            total = before + await self._blob_bytes(brought) - await self._blob_bytes(dropped)
        self._check_size(total)
        await self._remember_size(new, total)
        return Changes(changes.changed, changes.deleted, await self._changed_bytes(new, changes))

    async def _blob_bytes(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        sizes = await self._git(
            "cat-file", "--batch-check=%(objectsize)", stdin="".join(f"{i}\n" for i in ids)
        )
        return sum(int(line) for line in sizes.split() if line.isdigit())

    async def _changed_bytes(self, commit: str, changes: Changes) -> int:
        return await self._blob_bytes([f"{commit}:{path}" for path in changes.changed])

    async def _remembered_size(self, commit: str) -> int | None:
        """The checkout size recorded for ``commit`` (in .git: it goes with the checkout)."""
        with contextlib.suppress(OSError, ValueError):
            recorded, size = (self.directory / ".git" / SIZE_FILE).read_text().split()
            return int(size) if recorded == commit else None
        return None

    async def _remember_size(self, commit: str, size: int) -> None:
        with contextlib.suppress(OSError):
            (self.directory / ".git" / SIZE_FILE).write_text(f"{commit} {size}\n")

    # -- running git -------------------------------------------------------------------------

    async def _usable(self) -> bool:
        if not (self.directory / ".git").is_dir():
            return False
        try:
            out = await self._git("rev-parse", "--is-inside-work-tree", "--git-dir")
        except GitError:
            return False
        return out.split()[:2] == ["true", ".git"]

    async def _init(self, directory: Path) -> None:
        await asyncio.to_thread(shutil.rmtree, directory, True)
        await asyncio.to_thread(directory.mkdir, parents=True)
        await self._git("init", "--quiet", "--template=", cwd=directory)

    async def _default_branch(self) -> str:
        out = await self._git("ls-remote", "--symref", "origin", "HEAD", network=True)
        for line in out.splitlines():
            target, _, name = line.partition("\t")
            if name == "HEAD" and target.startswith("ref: refs/heads/"):
                return target.removeprefix("ref: refs/heads/")
        raise GitError("the repository has no default branch: set branch: in the config")

    async def _fetch_branch(self, branch: str | None, *, shallow: bool) -> str:
        ref = branch or await self._default_branch()
        await self._git(
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            *(["--depth", "1"] if shallow else []),
            "origin",
            f"+refs/heads/{ref}:{REMOTE_REF}",
            network=True,
            watch=True,
        )
        out = await self._git("rev-parse", "--verify", "--quiet", f"{REMOTE_REF}^{{commit}}")
        return out.strip()

    def _check_size(self, size: int) -> None:
        if size > self.policy.max_repo_bytes:
            raise GitError(
                f"the repository holds {format_size(size)} of files, more than "
                f"fetch.max_repo_bytes ({format_size(self.policy.max_repo_bytes)}): refused",
                refused=True,
            )

    def _environment(self) -> dict[str, str]:
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env.setdefault("PATH", os.defpath)
        config = [
            ("protocol.allow", "never"),
            ("protocol.https.allow", "always"),
            ("protocol.file.allow", "always"),
            ("core.symlinks", "false"),
            ("core.autocrlf", "false"),
            ("core.hooksPath", os.devnull),
            ("core.fsmonitor", "false"),
            ("submodule.recurse", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("credential.helper", ""),
            ("advice.detachedHead", "false"),
            ("http.userAgent", self.policy.user_agent),
            ("remote.origin.url", self.remote.url),
        ]
        if self.remote.header is not None:
            config.append(("http.extraHeader", self.remote.header))
        env.update(
            HOME=os.devnull,
            LC_ALL="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_ALLOW_PROTOCOL="https:file",
            GIT_LFS_SKIP_SMUDGE="1",
            GIT_CONFIG_COUNT=str(len(config)),
        )
        for n, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{n}"] = key
            env[f"GIT_CONFIG_VALUE_{n}"] = value
        return env

    async def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        network: bool = False,
        watch: bool = False,
        stdin: str | None = None,
        quiet: tuple[int, ...] = (),
    ) -> str:
        """Run git; its output. A failure raises GitError (redacted; ``local`` unless the
        command talked to the remote); an exit status in ``quiet`` raises _Status instead."""
        try:
            proc = await asyncio.create_subprocess_exec(
                "git",
                *args,
                cwd=cwd or self.directory,
                env=self._environment(),
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its helpers (git-remote-https, upload-pack) die with it
            )
        except FileNotFoundError:
            raise GitError("git is not installed: install git to use git sources") from None
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror or exc}", local=True) from None
        talk = asyncio.ensure_future(
            proc.communicate(stdin.encode() if stdin is not None else None)
        )
        timeout = self.policy.timeout if network else LOCAL_TIMEOUT
        try:
            if watch:
                await self._watch(talk, timeout)
            out, err = await asyncio.wait_for(talk, timeout)
        except TimeoutError:
            _kill(proc)
            raise GitError(
                f"git {args[0]} took longer than fetch.timeout ({timeout:g}s)", refused=True
            ) from None
        except BaseException:
            _kill(proc)
            with contextlib.suppress(BaseException):
                await talk
            raise
        if proc.returncode in quiet:
            raise _Status(proc.returncode or 0)
        if proc.returncode != 0:
            raise GitError(self._message(args[0], err), local=not network)
        return out.decode("utf-8", "surrogateescape")

    async def _watch(self, talk: asyncio.Future[tuple[bytes, bytes]], seconds: float) -> None:
        """Kill the fetch as soon as what it received exceeds ``max_repo_bytes``."""
        objects = self.directory / ".git" / "objects"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not talk.done() and loop.time() < deadline:
            await asyncio.wait([talk], timeout=SIZE_POLL)
            if talk.done():
                return
            size = await asyncio.to_thread(_tree_bytes, objects)
            if size > self.policy.max_repo_bytes:
                talk.cancel()
                raise GitError(
                    f"the repository is larger than fetch.max_repo_bytes "
                    f"({format_size(self.policy.max_repo_bytes)}): refused",
                    refused=True,
                )

    def _message(self, command: str, err: bytes) -> str:
        lines = [
            line.strip()
            for line in err.decode("utf-8", "replace").splitlines()
            if line.strip() and not line.startswith("hint:")
        ]
        detail = lines[-1] if lines else "no message"
        for line in lines:  # git puts the reason on its fatal: line
            if line.startswith(("fatal:", "error:")):
                detail = line
                break
        detail = detail.removeprefix("fatal: ").removeprefix("error: ")
        return self.remote.redact(f"git {command} failed: {detail}")[:500]


class _Status(Exception):
    """git ended with an exit status that answers a question (merge-base --is-ancestor)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _tree_bytes(directory: Path) -> int:
    total = 0
    for root, _, names in os.walk(directory):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _replace_directory(new: Path, old: Path) -> None:
    """Put the checkout ``new`` where ``old`` is (``old`` is removed)."""
    trash = old.with_name(old.name + ".old")
    shutil.rmtree(trash, ignore_errors=True)
    if old.exists():
        old.rename(trash)
    new.rename(old)
    shutil.rmtree(trash, ignore_errors=True)
