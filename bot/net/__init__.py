"""Fetching URLs that people typed, safely: addresses.py says which addresses may be reached,
fetch.py fetches with that check pinned to the connection, size and time limits, and
conditional GET."""
