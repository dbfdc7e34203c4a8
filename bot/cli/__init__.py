"""The ``newsdesk`` command line: ``main`` parses argv and runs one command (see main.py)."""
