"""Logs: library tracebacks about network trouble are one line; our own errors keep theirs."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

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


class ClosedPipe(io.StringIO):
    """A log stream whose reader went away (``newsdesk run | head``, once head is done)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_log_stream_that_cannot_be_written_goes_quiet(
    stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging("INFO", ClosedPipe())
    for n in range(3):
        logging.getLogger("bot.services.jobs").info("run %d", n)
    assert capsys.readouterr().err == ""  # no "--- Logging error ---" with a traceback each


def test_a_log_file_descriptor_that_fails_is_pointed_at_devnull(tmp_path: Path) -> None:
    """Where the stream has a file descriptor (stdout), /dev/null takes its place there, so
    that the interpreter's last flush at exit cannot fail either."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    out = os.fdopen(write, "w")
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        setup_logging("INFO", out)
        logging.getLogger("bot").info("into a pipe nobody reads")
        logging.getLogger("bot").info("and again")
        out.write("more output")
        out.flush()  # the descriptor is /dev/null now: no BrokenPipeError
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
        out.close()


def test_a_bad_format_string_is_reported_and_the_log_goes_on(
    stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ValueError from formatting is a bug to report, not a closed stream to give up on."""
    setup_logging("INFO", stream)
    logging.getLogger("bot.services.jobs").info("100%% done, then %q", "x")
    logging.getLogger("bot.services.jobs").info("still logging")
    assert "--- Logging error ---" in capsys.readouterr().err
    assert "still logging" in stream.getvalue()
