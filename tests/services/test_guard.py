"""The one place a failed background job is logged and counted."""

from __future__ import annotations

import asyncio

import pytest

from bot.errors import UsageError
from bot.metrics import Metrics
from bot.services.guard import guarded


async def test_a_bug_is_logged_with_its_traceback_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()

    async def broken() -> int:
        raise KeyError("nobody expected this")

    assert await guarded("publish", broken(), metrics, detail="channel 5") is None
    (record,) = [r for r in caplog.records if r.name == "bot.services.guard"]
    assert record.getMessage() == "publish (channel 5) failed"
    assert record.exc_info is not None
    assert "newsdesk_job_failures_total" in metrics.render().decode()
    assert 'newsdesk_job_failures_total{job="publish"} 1.0' in metrics.render().decode()


async def test_our_own_error_is_one_line_and_a_cancellation_goes_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()

    async def refused() -> None:
        raise UsageError("data/news: no such file or directory")

    assert await guarded("ingest", refused(), metrics) is None
    (record,) = [r for r in caplog.records if r.name == "bot.services.guard"]
    assert record.getMessage() == "ingest: data/news: no such file or directory"
    assert record.exc_info is None

    async def cancelled() -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await guarded("ingest", cancelled(), metrics)
    assert 'newsdesk_job_failures_total{job="ingest"} 1.0' in metrics.render().decode()
    assert await guarded("ingest", asyncio.sleep(0, result=7), metrics) == 7
