"""Newsdesk tests (a package, so that ``tests.fakediscord`` imports in tests and subprocesses)."""
