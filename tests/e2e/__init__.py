"""End-to-end tests against the fake Discord."""
