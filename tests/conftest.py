"""Shared fixtures: a real SQLite file per test, migrated; the project's sample articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.ingest.ingestor import Ingestor
from bot.settings import IngestSettings
from bot.store.articles import ArticleStore
from bot.store.db import Database
from tests.support.backends import any_db  # noqa: F401 - the fixtures, for every test
from tests.support.postgres import pg_url  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "config" / "sample-news"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
MALFORMED = (
    FIXTURES
    / "articles"
    / (
        "2020-12-01-project-innereye-evaluation-shows-how-ai-can-augment-and-accelerate-"
        "clinicians-ability-to-perform-radiotherapy-planning-13-times-faster.md"
    )
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "newsdesk.db")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def store(db: Database) -> ArticleStore:
    return ArticleStore(db)


@pytest.fixture
def ingestor(store: ArticleStore) -> Ingestor:
    return Ingestor(store, IngestSettings())
