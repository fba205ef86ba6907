"""The editor's loop in the Wagtail admin: previews with real data, time travel, test sends,
ready-made sequences and publishing checks. Registered from ``wagtail_hooks.py``."""
