"""Triggers: the moments that start a sequence. One module per family; see ``registry``."""

from .registry import Trigger, register, trigger_choices

__all__ = ["Trigger", "register", "trigger_choices"]
