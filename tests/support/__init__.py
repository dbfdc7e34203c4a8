"""Test support: fixtures builders and the corpus generator (copied from the shared tools)."""
