"""Formatting for step-mail reports."""

from django import template

from ..reasons import reason_label as _reason_label

register = template.Library()


@register.filter
def pct(value, digits=1):
    """A fraction as a percentage (``0.1234`` → ``12.3%``); ``—`` when undefined."""
    if value is None:
        return "—"
    return f"{value * 100:.{int(digits)}f}%"


@register.filter
def pct_interval(interval):
    """An interval of fractions as percentages (``12.3% – 20.1%``)."""
    if not interval:
        return "—"
    low, high = interval
    return f"{low * 100:.1f}% – {high * 100:.1f}%"


@register.filter
def pp_interval(interval):
    """An interval of differences of fractions, in percentage points."""
    if not interval:
        return "—"
    low, high = interval
    return f"{low * 100:+.1f} – {high * 100:+.1f} pt"


@register.filter
def money_interval(interval):
    if not interval:
        return "—"
    low, high = interval
    return f"{low:+,.0f} – {high:+,.0f}"


@register.filter
def money(value):
    if value is None:
        return "—"
    return f"{value:,.0f}"


@register.filter
def reason_label(code):
    """A recorded reason code in words."""
    return _reason_label(code or "")
