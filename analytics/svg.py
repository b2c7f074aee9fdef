"""Small server-rendered SVG charts: stacked bars, horizontal bars, lines.

No JavaScript and no inline styles (the staff pages' CSP forbids both): colours are SVG
presentation attributes, sizes come from the viewBox. Each chart is an accessible image
(role="img" with <title> and <desc>); the page puts a table with the same numbers beside it.
All text is escaped here.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 40, 56


def _scale(value: float) -> tuple[float, int]:
    """Axis top and number of grid steps: the smallest step of 1, 2 or 5 × 10^k (at least 1)
    that reaches value in at most 6 steps, e.g. 47 → (50, 5), 1012 → (1200, 6), 3 → (3, 3)."""
    value = max(value, 1.0)
    power = 10 ** max(0, math.floor(math.log10(value / 6)))
    while True:
        for multiple in (1, 2, 5):
            step = multiple * power
            if value / step <= 6:
                steps = math.ceil(value / step)
                return float(step * steps), steps
        power *= 10


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def _open(chart_id: str, title: str, desc: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _legend(names: list[str], y: int = 16) -> list[str]:
    parts, x = [], LEFT
    for i, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="{y}" font-size="12">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    return parts


def _y_axis(top_value: float, y_label: str, fmt: Callable[[float], str], intervals: int) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#555"/>']
    for i in range(intervals + 1):
        value = top_value * i / intervals
        y = HEIGHT - BOTTOM - plot_h * i / intervals
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{escape(fmt(value))}</text>')
    middle = TOP + plot_h / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {middle:.1f})">{escape(y_label)}</text>'
    )
    return parts


def _x_axis(labels: list[str], x_label: str, position: Callable[[int], float]) -> list[str]:
    parts = [f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#555"/>']
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(
                f'<text x="{position(i):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle">{escape(label)}</text>'
            )
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 12}" font-size="12" text-anchor="middle">{escape(x_label)}</text>'
    )
    return parts


def stacked_bars(
    chart_id: str, title: str, desc: str, labels: list[str], series: Mapping[str, Sequence[float]], x_label: str, y_label: str
) -> str:
    """One bar per label, stacked by series (e.g. conversations per day, stacked by channel)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top_value, steps = _scale(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    parts = _open(chart_id, title, desc) + _legend(list(series)) + _y_axis(top_value, y_label, _number, steps)
    for i, label in enumerate(labels):
        base = 0.0
        for s, (name, values) in enumerate(series.items()):
            value = values[i]
            if value <= 0:
                continue
            height = plot_h * value / top_value
            y = HEIGHT - BOTTOM - plot_h * (base + value) / top_value
            parts.append(
                f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(f"{label}, {name}: {_number(value)}")}</title></rect>'
            )
            base += value
    parts += _x_axis(labels, x_label, lambda i: LEFT + slot * (i + 0.5))
    return "\n".join([*parts, "</svg>"])


def horizontal_bars(
    chart_id: str,
    title: str,
    desc: str,
    items: Sequence[tuple[str, float]],
    x_label: str,
    fmt: Callable[[float], str] = _number,
    x_max: float | None = None,
) -> str:
    """One bar per item, in the order given (top intents, top articles, handoff reasons);
    x_max: a fixed scale (e.g. 5 for ratings) instead of one fitted to the values."""
    row, left, top = 24, 200, 8
    height = top + row * max(1, len(items)) + 40
    top_value = x_max if x_max is not None else _scale(max((value for _, value in items), default=0))[0]
    plot_w = WIDTH - left - RIGHT - 40
    parts = _open(chart_id, title, desc, height=height)
    for i, (label, value) in enumerate(items):
        y = top + row * i
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(shown)}</text>')
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{plot_w * value / top_value:.1f}" height="{row - 8}" fill="{PALETTE[0]}">'
            f"<title>{escape(f'{label}: {fmt(value)}')}</title></rect>"
        )
        parts.append(f'<text x="{left + plot_w * value / top_value + 4:.1f}" y="{y + 15}" font-size="11">{escape(fmt(value))}</text>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - 36}" stroke="#555"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" font-size="12" text-anchor="middle">{escape(x_label)}</text>')
    return "\n".join([*parts, "</svg>"])


def lines(
    chart_id: str,
    title: str,
    desc: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    x_label: str,
    y_label: str,
    y_max: int | None = None,
) -> str:
    """One line per series over the labels; None leaves a gap (e.g. a day without ratings).
    y_max: a fixed top with one grid line per unit (e.g. 5 for ratings)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top_value, steps = (y_max, int(y_max)) if y_max is not None else _scale(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(labels) - 1) if len(labels) > 1 else 0.0

    def x_at(i: int) -> float:
        return LEFT + (step * i if len(labels) > 1 else plot_w / 2)

    parts = _open(chart_id, title, desc) + _legend(list(series)) + _y_axis(top_value, y_label, _number, steps)
    for s, (name, points) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        for i, value in enumerate([*points, None]):
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}" stroke-width="2"/>')
                segment = []
                continue
            x, y = x_at(i), HEIGHT - BOTTOM - plot_h * value / top_value
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(f"{labels[i]}, {name}: {_number(value)}")}</title></circle>'
            )
    parts += _x_axis(labels, x_label, x_at)
    return "\n".join([*parts, "</svg>"])
