"""Logs: library tracebacks about network trouble are one line; our own errors keep theirs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.log import setup_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    out = io.StringIO()
    try:
        yield out
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_a_library_reconnect_after_a_network_error_is_one_line(
    stream: io.StringIO, fmt: str
) -> None:
    setup_logging("INFO", stream, fmt)
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except OSError:
        logging.getLogger("discord.client").exception("Attempting a reconnect in %.2fs", 1.5)
    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "Traceback" not in text
    line = json.loads(text)["message"] if fmt == "json" else text
    assert (
        "Attempting a reconnect in 1.50s (ConnectionResetError: [Errno 104] Connection reset "
        "by peer)" in line
    )


def test_an_unexpected_error_in_our_code_keeps_its_traceback(stream: io.StringIO) -> None:
    setup_logging("INFO", stream)
    try:
        raise OSError("disk trouble in our own code")
    except OSError:
        logging.getLogger("bot.services.jobs").exception("job failed")
    assert "Traceback" in stream.getvalue()
