"""Newsdesk: a Discord bot that runs a community's news desk."""

__version__ = "0.1.0"
