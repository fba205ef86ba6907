"""A hand-written SVG chart of dispatch throughput against batch size (no plotting library)."""

from __future__ import annotations

from html import escape


def svg(points: list[tuple[int, float, float]], info: dict) -> str:
    """Bars of mails per second for each batch size, with queries per mail written above."""
    width, height = 640, 360
    left, right, top, bottom = 70, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(rate for _, rate, _ in points) or 1.0
    scale = _nice(peak)
    bar_w = plot_w / len(points) * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
        "stepmail dispatch: personalised mails per second by batch size</text>",
        f'<text x="{width / 2}" y="40" text-anchor="middle" fill="#555">'
        f"{escape(str(info.get('cpu', '')))}, {escape(str(info.get('database', '')))} — "
        "numbers above bars: queries per mail</text>",
    ]
    for tick in range(5):
        value = scale * tick / 4
        y = top + plot_h - plot_h * value / scale
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    for index, (size, rate, queries) in enumerate(points):
        x = left + plot_w / len(points) * (index + 0.2)
        h = plot_h * rate / scale
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#c2410c"/>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 18:.1f}" text-anchor="middle">{rate:,.0f}/s</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" text-anchor="middle" fill="#555">'
                     f"{queries:.2f} q</text>")
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{size}</text>')
    parts += [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="{left + plot_w / 2}" y="{height - 18}" text-anchor="middle">batch size (deliveries claimed per batch)</text>',
        f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 18 {top + plot_h / 2})">mails per second</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def _nice(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude
