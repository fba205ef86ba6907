"""The funnel chart as inline SVG, drawn on the server: readable without JavaScript, printable,
and testable by parsing it. Each bar carries ``data-series``, ``data-step`` and ``data-value``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

SERIES = (
    ("sent", "#64748b"),
    ("opened", "#0284c7"),
    ("clicked", "#d97706"),
    ("converted", "#16a34a"),
)


def _labels() -> dict[str, str]:
    return {"sent": _("Sent"), "opened": _("Opened"), "clicked": _("Clicked"), "converted": _("Converted")}


TICKS = 4  # grid intervals on the value axis


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` whose ``TICKS`` intervals are whole round numbers
    (1, 2, 2.5 or 5 × a power of ten), so every grid line's label is exactly its value."""
    needed = max(value, 1) / TICKS
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = factor * magnitude
            if step >= needed and step == int(step):
                return int(step) * TICKS
        magnitude *= 10


def funnel_chart(rows: Sequence[Any], *, width: int = 760, height: int = 320) -> SafeString:
    """Grouped bars per step: sent, opened, clicked, converted (rates relative to delivered)."""
    labels = _labels()
    title = _("Funnel per step")
    left, right, top, bottom = 48, 12, 34, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stepmail-chart" width="100%" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="stepmail-chart-title">',
        f'<title id="stepmail-chart-title">{escape(title)}</title>',
        '<style>text{font:12px sans-serif;fill:#334155}.axis{stroke:#cbd5e1}</style>',
    ]
    for i, (key, colour) in enumerate(SERIES):  # legend
        x = left + i * 130
        out.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 18}" y="18">{escape(labels[key])}</text>')
    if not rows or not any(r.counts.total for r in rows):
        # Outside the f-string: xgettext does not see calls inside f-string expressions.
        empty = _("No mails in this period yet.")
        out.append(f'<text x="{left}" y="{top + plot_h // 2}">{escape(empty)}</text></svg>')
        return mark_safe("".join(out))
    peak = _nice_max(max(max(getattr(r.counts, key) for key, _c in SERIES) for r in rows))
    for i in range(TICKS + 1):  # grid and axis labels
        value = peak * i // TICKS
        y = top + plot_h - plot_h * i / TICKS
        out.append(f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    group_w = plot_w / len(rows)
    bar_w = group_w * 0.8 / len(SERIES)
    for index, row in enumerate(rows):
        x0 = left + index * group_w + group_w * 0.1
        delivered = row.counts.delivered
        for j, (key, colour) in enumerate(SERIES):
            value = getattr(row.counts, key)
            h = plot_h * value / peak
            x, y = x0 + j * bar_w, top + plot_h - h
            if key == "sent":
                tip = f"{row.position}. {row.title} · {labels[key]}: {value}"
            else:
                rate = f" ({value / delivered * 100:.1f}%)" if delivered else ""
                tip = f"{row.position}. {row.title} · {labels[key]}: {value}{rate}"
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{colour}" '
                f'data-series="{key}" data-step="{row.position}" data-value="{value}">'
                f'<title>{escape(tip)}</title></rect>'
            )
        name = row.title if len(row.title) <= 16 else row.title[:15] + "…"
        cx = left + index * group_w + group_w / 2
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{row.position}. {escape(name)}</text>')
        if row.dropoff_pct is not None:
            drop = _("drop-off %(pct)s%%") % {"pct": f"{row.dropoff_pct:.1f}"}
            out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 36}" text-anchor="middle" '
                       f'data-dropoff="{row.position}">{escape(drop)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))
