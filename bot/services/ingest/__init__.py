"""Ingestion: discover source files, parse them (in worker processes for big scans), store them.

Kept empty on purpose: a parse worker imports ``bot.services.ingest.worker`` and must not pay
for the store or the scheduler.
"""
