"""The fake Discord every end-to-end test talks to: two guilds, channels, roles, members."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import make_fake, populate
from tests.fakediscord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with make_fake() as server:
        populate(server)
        yield server
