"""Live sources: web feeds fetched on their own intervals (feeds.py polls them, parsing.py
parses their bodies off the event loop, reports.py is what each fetch tells its caller)."""
