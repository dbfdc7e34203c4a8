"""Git sources into the archive, against real local repositories: only what changed is read,
deletions withdraw, a force-push reads everything again, failures change nothing stored."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.services.ingest.ingestor import Ingestor
from bot.services.sources.git import GitPoller
from bot.settings import IngestSettings, Settings, settings_from_mapping
from bot.store.articles import ArticleStore
from bot.store.db import Database
from bot.store.sources import SourceStore
from bot.store.withdrawals import WithdrawalStore
from bot.wiring import git_poller, stores_of
from tests.support.git_remote import GitRemote, git

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def settings_for(
    url: str, tmp: Path, environ: dict[str, str] | None = None, **extra: object
) -> Settings:
    return settings_from_mapping(
        {
            "database": {"path": str(tmp / "db.sqlite")},
            "sources": [{"git": url, "paths": ["_news"], **extra}],
            "git": {"checkouts": str(tmp / "checkouts")},
        },
        environ or {},
    )


def poller_for(settings: Settings, db: Database, store: ArticleStore) -> GitPoller:
    ingestor = Ingestor(store, IngestSettings(), withdrawals=WithdrawalStore(db))
    poller = git_poller(settings, stores_of(db, settings), ingestor)
    poller.clock = lambda: NOW
    return poller


async def titles(db: Database) -> dict[str, tuple[str, bool]]:
    rows = await db.fetch("SELECT url, title, withdrawn_at IS NOT NULL FROM articles")
    return {r[0].rsplit("/", 1)[1]: (r[1], bool(r[2])) for r in rows}


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    remote = GitRemote(tmp_path / "git")
    for n in (1, 2, 3):
        remote.article(f"_news/{n}.md", n)
    remote.article("outside/9.md", 9)  # not under paths: [_news]
    remote.article("_news/.hidden/8.md", 8)
    remote.write("_news/notes.txt", "not an article")
    (remote.work / "_news" / "link.md").symlink_to("/etc/passwd")
    remote.commit("first")
    return remote


async def test_a_repository_is_ingested_then_only_its_changes(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    settings = settings_for(remote.url, tmp_path)
    poller = poller_for(settings, db, store)
    [report] = await poller.poll(settings.sources)
    assert (report.kind, report.outcome, report.new, report.error) == ("git", "ok", 3, None)
    assert report.rejected == []  # the symlink, the hidden file, notes.txt: never read
    assert sorted(await titles(db)) == ["1", "2", "3"]
    [state] = (await SourceStore(db).states([settings.sources[0].key])).values()
    assert state.git_commit == remote.head()

    [again] = await poller.poll(settings.sources)
    assert again.outcome == "not_modified"

    remote.article("_news/2.md", 2, title="A corrected title")
    remote.article("_news/4.md", 4)
    remote.delete("_news/3.md")
    head = remote.commit("second")
    [changed] = await poller.poll(settings.sources)
    assert (changed.outcome, changed.new, changed.updated, changed.withdrawn) == ("ok", 1, 1, 1)
    stored = await titles(db)
    assert stored["2"] == ("A corrected title", False)
    assert stored["3"][1] is True and stored["4"][1] is False
    [state] = (await SourceStore(db).states([settings.sources[0].key])).values()
    assert state.git_commit == head


async def test_a_force_push_reads_the_whole_checkout(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    settings = settings_for(remote.url, tmp_path)
    poller = poller_for(settings, db, store)
    await poller.poll(settings.sources)
    remote.article("_news/1.md", 1, title="Rewritten history")
    remote.delete("_news/2.md")
    remote.rewrite()  # the commit ingested is no longer an ancestor of the head
    [report] = await poller.poll(settings.sources)
    assert (report.outcome, report.new, report.updated, report.withdrawn) == ("ok", 0, 1, 1)
    stored = await titles(db)
    assert stored["1"] == ("Rewritten history", False) and stored["2"][1] is True


async def test_a_failed_fetch_changes_nothing_and_a_broken_checkout_is_cloned_again(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    settings = settings_for(remote.url, tmp_path)
    poller = poller_for(settings, db, store)
    await poller.poll(settings.sources)
    hidden = remote.bare.with_name("elsewhere.git")
    remote.bare.rename(hidden)
    [failed] = await poller.poll(settings.sources)
    assert failed.outcome == "failed" and failed.failures == 1
    assert failed.error is not None and "does not appear to be a git repository" in failed.error
    assert [t for t, withdrawn in (await titles(db)).values() if not withdrawn] != []
    assert all(not withdrawn for _, withdrawn in (await titles(db)).values())
    hidden.rename(remote.bare)

    checkout = poller.repository(settings.sources[0]).directory
    shutil.rmtree(checkout / ".git" / "objects")  # corrupted
    (checkout / ".git" / "objects").mkdir()
    remote.article("_news/5.md", 5)
    remote.commit("after the repair")
    [mended] = await poller.poll(settings.sources)
    assert (mended.outcome, mended.new, mended.withdrawn, mended.failures) == ("ok", 1, 0, 0)


async def test_a_secret_in_the_url_is_never_shown_nor_stored(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    secret_dir = remote.bare.parent / "s3cr3t-t0ken"
    secret_dir.mkdir()
    remote.bare.rename(secret_dir / "remote.git")
    template = f"file://{remote.bare.parent}/${{REPO_TOKEN}}/remote.git"
    settings = settings_for(template, tmp_path, {"REPO_TOKEN": "s3cr3t-t0ken"})
    poller = poller_for(settings, db, store)
    [report] = await poller.poll(settings.sources)
    assert (report.outcome, report.new, report.source) == ("ok", 3, template)
    checkout = poller.repository(settings.sources[0]).directory
    assert "s3cr3t" not in (checkout / ".git" / "config").read_text()
    assert "s3cr3t" not in str(checkout)
    shutil.rmtree(secret_dir)
    [failed] = await poller.poll(settings.sources)
    assert failed.outcome == "failed" and failed.error is not None
    assert "s3cr3t" not in failed.error and "/***/remote.git" in failed.error


async def test_a_repository_over_max_repo_bytes_is_refused(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    remote.write("_news/big.bin", "x" * 200_000)  # compresses to little; checked out: 200 kB
    remote.commit("big")
    settings = settings_from_mapping(
        {
            "database": {"path": str(tmp_path / "db.sqlite")},
            "sources": [{"git": remote.url}],
            "fetch": {"max_repo_bytes": "100KiB"},
            "git": {"checkouts": str(tmp_path / "checkouts")},
        },
        {},
    )
    [report] = await poller_for(settings, db, store).poll(settings.sources)
    assert report.outcome == "failed" and report.error is not None
    assert "more than fetch.max_repo_bytes (102,400 bytes): refused" in report.error
    assert await store.count() == 0


async def test_a_repository_that_grows_past_max_repo_bytes_is_refused(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    settings = settings_from_mapping(
        {
            "database": {"path": str(tmp_path / "db.sqlite")},
            "sources": [{"git": remote.url}],
            "fetch": {"max_repo_bytes": "100KiB"},
            "git": {"checkouts": str(tmp_path / "checkouts")},
        },
        {},
    )
    poller = poller_for(settings, db, store)
    remote.write("assets/one.bin", "x" * 60_000)  # not an article: it still fills the checkout
    remote.commit("one")
    [first] = await poller.poll(settings.sources)
    assert first.outcome == "ok", first.error
    remote.write("assets/two.bin", "y" * 60_000)  # this commit alone is small
    remote.commit("two")
    [grown] = await poller.poll(settings.sources)
    assert grown.outcome == "failed" and "more than fetch.max_repo_bytes" in (grown.error or "")
    remote.delete("assets/one.bin")  # back under the limit
    remote.commit("three")
    [shrunk] = await poller.poll(settings.sources)
    assert shrunk.outcome == "ok", shrunk.error
    assert await store.count() == first.new + shrunk.new  # nothing lost on the way


async def test_a_mass_deletion_is_refused_until_allowed(
    db: Database, store: ArticleStore, tmp_path: Path
) -> None:
    remote = GitRemote(tmp_path / "git")
    for n in range(1, 26):
        remote.article(f"_news/{n}.md", n)
    remote.commit("many")
    settings = settings_for(remote.url, tmp_path)
    poller = poller_for(settings, db, store)
    await poller.poll(settings.sources)
    for n in range(1, 21):
        remote.delete(f"_news/{n}.md")
    head = remote.commit("most are gone")
    [refused] = await poller.poll(settings.sources)
    assert refused.withdrawn == 0 and refused.error is not None
    assert "20 of its 25 articles would be withdrawn" in refused.error
    [state] = (await SourceStore(db).states([settings.sources[0].key])).values()
    assert state.git_commit != head  # not settled: weighed again next time
    [allowed] = await poller.poll(settings.sources, allow_withdrawals=True)
    assert (allowed.withdrawn, allowed.error) == (20, None)
    [state] = (await SourceStore(db).states([settings.sources[0].key])).values()
    assert state.git_commit == head


async def test_other_paths_read_the_whole_checkout(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    settings = settings_for(remote.url, tmp_path)
    await poller_for(settings, db, store).poll(settings.sources)
    wider = settings_from_mapping(
        {
            "database": {"path": str(tmp_path / "db.sqlite")},
            "sources": [{"git": remote.url, "paths": ["_news", "outside"]}],
            "git": {"checkouts": str(tmp_path / "checkouts")},
        },
        {},
    )
    [report] = await poller_for(wider, db, store).poll(wider.sources)
    assert (report.outcome, report.new) == ("ok", 1)  # outside/9.md, with the same commit


async def test_submodules_and_lfs_objects_are_never_fetched(
    db: Database, store: ArticleStore, tmp_path: Path, remote: GitRemote
) -> None:
    # a submodule whose repository is a real one next to it, reachable by file://
    other = GitRemote(tmp_path / "other")
    other.article("_news/50.md", 50)
    sub_head = other.commit("theirs")
    (remote.work / ".gitmodules").write_text(
        f'[submodule "vendor"]\n\tpath = _news/vendor\n\turl = {other.url}\n'
    )
    git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},_news/vendor", cwd=remote.work)
    # an LFS-tracked article: its pointer is what the repository holds
    remote.write(".gitattributes", "_news/big.md filter=lfs diff=lfs merge=lfs -text\n")
    remote.write(
        "_news/big.md",
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12345\n",
    )
    remote.commit("submodule and lfs")
    settings = settings_for(remote.url, tmp_path)
    [report] = await poller_for(settings, db, store).poll(settings.sources)
    assert report.outcome == "ok", report.error
    urls = set(await titles(db))
    assert urls == {"1", "2", "3"}  # not the submodule's 50
    assert [r.path.rsplit("/", 1)[-1] for r in report.rejected] == ["big.md"]  # a pointer
    checkout = poller_for(settings, db, store).repository(settings.sources[0]).directory
    vendor = checkout / "_news" / "vendor"
    assert not vendor.exists() or not any(vendor.iterdir())  # the submodule is not checked out
