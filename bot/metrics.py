"""Prometheus metrics, all prefixed ``newsdesk_``, in a registry of their own.

Built once in bot.app and passed to the services that count things; nothing is registered at
import time, so tests and several instances never collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.articles_stored = Gauge(
            "newsdesk_articles_stored", "Articles in the archive", registry=r
        )
        self.articles_ingested = Counter(
            "newsdesk_articles_ingested_total",
            "Articles seen by ingest runs, by outcome",
            ["outcome"],  # new, updated, unchanged
            registry=r,
        )
        self.files_rejected = Counter(
            "newsdesk_files_rejected_total", "Files or list items rejected by ingest", registry=r
        )
        self.source_fetches = Counter(
            "newsdesk_source_fetches_total",
            "Fetches of web feeds, by outcome",
            ["outcome"],  # ok, not_modified, failed, disabled
            registry=r,
        )
        self.source_items = Counter(
            "newsdesk_source_items_total",
            "Items of fetched feeds that were stored or refused, by outcome",
            ["outcome"],  # new, updated, rejected
            registry=r,
        )
        self.ingest_seconds = Histogram(
            "newsdesk_ingest_seconds",
            "Duration of ingest runs",
            registry=r,
            buckets=(0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800),
        )
        self.posts = Counter(
            "newsdesk_posts_total",
            "Posts by result",
            ["result"],  # sent, recovered, quarantined, skipped
            registry=r,
        )
        self.post_failures = Counter(
            "newsdesk_post_failures_total",
            "Failed sends by reason",
            ["reason"],  # channel_unavailable, rejected, transient, history_unavailable
            registry=r,
        )
        self.edits = Counter(
            "newsdesk_edits_total",
            "Edits of posted messages by result",
            # edited, marked, deleted, unchanged, gone, locked, failed, retried, postponed
            ["result"],
            registry=r,
        )
        self.subscriptions_paused = Gauge(
            "newsdesk_subscriptions_paused", "Subscriptions paused by a Discord refusal", registry=r
        )
        self.subscriptions = Gauge("newsdesk_subscriptions", "Subscriptions", registry=r)
        self.publish_runs = Counter(
            "newsdesk_publish_runs_total", "Publishing runs by outcome", ["outcome"], registry=r
        )
        self.last_publish_run = Gauge(
            "newsdesk_last_publish_run_timestamp_seconds",
            "When a publishing run last completed",
            registry=r,
        )
        self.last_successful_post = Gauge(
            "newsdesk_last_successful_post_timestamp_seconds",
            "When a post last went out",
            registry=r,
        )
        self.last_ingest = Gauge(
            "newsdesk_last_ingest_timestamp_seconds",
            "When an ingest run last completed",
            registry=r,
        )
        self.command_seconds = Histogram(
            "newsdesk_command_seconds",
            "Slash command latency, from the interaction to the end of its handler",
            ["command"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
        )
        self.command_errors = Counter(
            "newsdesk_command_errors_total",
            "Slash commands that ended in an error answer, by kind",
            ["kind"],  # user, refused, internal
            registry=r,
        )
        self.job_failures = Counter(
            "newsdesk_job_failures_total",
            "Background jobs that failed, by job (ingest, publish, recheck-paused, ...)",
            ["job"],
            registry=r,
        )
        self.gateway_connected = Gauge(
            "newsdesk_gateway_connected", "1 while connected to the Discord gateway", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
