"""Run the Newsdesk bot against a fake Discord server, for subprocess tests.

Usage (from the repository root)::

    FAKE_DISCORD_API=http://127.0.0.1:PORT/api/v10 FAKE_DISCORD_GATEWAY=ws://127.0.0.1:PORT/ \\
        python -m tests.fakediscord.launch ARGS...

or ``python tests/fakediscord/launch.py ARGS...``. ``FakeDiscord.env()`` and
``FakeDiscord.launch_command()`` build both. The launcher points ``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY`` at the fake, then runs the bot's own entry point
``bot.__main__.main(ARGS)`` and exits with its return code. It imports ``bot`` only when run,
so this module stays importable without the bot package.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

API_ENV = "FAKE_DISCORD_API"
GATEWAY_ENV = "FAKE_DISCORD_GATEWAY"


def configure_discord(api_base: str, gateway_url: str) -> None:
    """Point discord.py (REST and gateway) at the fake server."""
    import discord.gateway
    import discord.http
    import yarl

    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def main(argv: list[str] | None = None) -> int:
    try:
        api_base = os.environ[API_ENV]
        gateway_url = os.environ[GATEWAY_ENV]
    except KeyError as exc:
        print(f"launch: environment variable {exc.args[0]} is not set", file=sys.stderr)
        return 2
    configure_discord(api_base, gateway_url)
    repo_root = str(Path(__file__).resolve().parents[2])
    if repo_root not in sys.path:
        sys.path.insert(0, repo_root)
    bot_main = importlib.import_module("bot.__main__").main  # i.e. from bot.__main__ import main
    return int(bot_main(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
