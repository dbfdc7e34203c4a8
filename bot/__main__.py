"""``python -m bot``: the same as the ``newsdesk`` command."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    # Only the standard library before the exit rules are in place: a Ctrl-C or SIGTERM that
    # arrives while the rest is imported still ends in one line and the right exit status.
    from bot.cli.process import guard

    def command() -> int:
        from bot.cli.main import main as run

        return run(argv)

    return guard(command)


if __name__ == "__main__":
    sys.exit(main())
