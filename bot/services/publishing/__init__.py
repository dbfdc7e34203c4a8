"""Publishing: each subscription's runs, exactly once per channel, through any Discord fault.

ports.py (what publishing needs from Discord), guilds.py (per-server policy), alerts.py
(pausing and telling moderators), selector.py (what would go, and why not the rest),
sender.py (one post, start to finish), reconcile.py (posts whose outcome is unknown),
publisher.py (a run).
"""
