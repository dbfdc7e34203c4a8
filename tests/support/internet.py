"""A stand-in for the public internet: public host names served by local test servers.

A feed added from Discord may only reach public addresses, so a test cannot point one at
127.0.0.1. This fetcher maps a few public names (``feeds.example.net``) to local servers and
fetches those through a real :class:`Fetcher` that may reach loopback; every other URL goes
through a real Fetcher with the bot's own policy, unchanged (so 127.0.0.1 typed as a feed is
still refused). It records whether each caller asked for ``allow_networks``.
"""

from __future__ import annotations

from dataclasses import replace

from yarl import URL

from bot.net.addresses import parse_networks
from bot.net.fetch import Fetcher, FetchPolicy, FetchResult, Validators


class PublicInternet:
    def __init__(self, policy: FetchPolicy, hosts: dict[str, str]) -> None:
        """``hosts``: public name -> local base URL (``http://127.0.0.1:4321``)."""
        self.hosts = {name: URL(base) for name, base in hosts.items()}
        self.real = Fetcher(policy)
        self.local = Fetcher(replace(policy, allow_networks=parse_networks(["127.0.0.0/8"])))
        self.asked: list[tuple[str, bool]] = []

    async def fetch(
        self, url: str, validators: Validators | None = None, *, use_allow_networks: bool = True
    ) -> FetchResult:
        validators = validators or Validators()
        self.asked.append((url, use_allow_networks))
        public = URL(url)
        base = self.hosts.get(public.host or "")
        if base is None:
            return await self.real.fetch(url, validators, use_allow_networks=use_allow_networks)
        local = base.join(URL(public.raw_path_qs))
        result = await self.local.fetch(str(local), validators)
        final = URL(result.url) if result.url else local
        shown = public.join(URL(final.raw_path_qs))  # links resolve against the public name
        return replace(result, url=str(shown))

    async def close(self) -> None:
        await self.real.close()
        await self.local.close()
