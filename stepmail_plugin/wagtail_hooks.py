"""Wagtail admin integration (registration only)."""
