"""The one place where a failed background job is logged and counted.

Scheduled jobs (ingest, each subscription's runs, rechecks), the start-up steps and the
bot's background tasks all run through :func:`guarded`: a failure ends that job's run, is
logged once (a traceback only for bugs; Newsdesk's own errors say what to do in one line) and
counted in ``newsdesk_job_failures_total{job}``; the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from bot.errors import NewsdeskError
from bot.metrics import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")


async def guarded(
    job: str, work: Awaitable[T], metrics: Metrics, *, detail: str | None = None
) -> T | None:
    """Await ``work``; on failure log it, count it under ``job`` and return None.

    ``detail`` names the instance (a subscription, a channel) in the log line only, so the
    metric keeps one series per kind of job.
    """
    what = f"{job} ({detail})" if detail else job
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except NewsdeskError as exc:
        log.warning("%s: %s", what, exc, extra={"job": job})
    except Exception:
        log.exception("%s failed", what, extra={"job": job})
    metrics.job_failures.labels(job).inc()
    return None
