"""Small charts drawn on the server as inline SVG, for the admin's
dashboards: no JavaScript library and no CDN, so they render offline and
print. Each chart has a <title> and a <desc> a screen reader says, and the
page shows the numbers beside them in tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH = 420
HEIGHT = 150
LEFT = 48  # room for the y labels
BOTTOM = 22  # room for the x labels
TOP = 8
RIGHT = 8
COLOURS = ("#417690", "#c4661f", "#5b8a3c", "#8a3c7a")


@dataclass
class Series:
    name: str
    values: Sequence[float | None]


def _n(value: float) -> str:
    """A coordinate, to a tenth of a pixel (format_html escapes its
    arguments to strings first, so numbers are formatted here)."""
    return f"{value:.1f}"


def duration_text(seconds: float | None) -> str:
    """A duration as a person reads it: 40 ms, 45 s, 12 min, 5.2 h, 3.1 days."""
    if seconds is None:
        return "—"
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + " s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def percent_text(fraction: float | None) -> str:
    return "—" if fraction is None else f"{fraction:.0%}"


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str] = lambda value: f"{value:g}",
    y_max: float | None = None,
    summary: str = "",
) -> SafeString:
    """Lines over ``labels`` (days), one per series; a gap where a value is
    None (no data that day), a dot where a value stands alone."""
    present = [value for one in series for value in one.values if value is not None]
    top = y_max if y_max is not None else (max(present) if present else 1.0)
    top = top or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(labels), 1)

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * min(value, top) / top

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-grid"/>'
        '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                _n(y(level)),
                _n(y(level)),
                LEFT - 4,
                _n(y(level) + 4),
                fmt(level),
            )
            for level in (0.0, top / 2, top)
        ),
    )
    ticks = sorted({0, count // 2, count - 1}) if labels else []
    x_labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
        ((_n(x(index)), HEIGHT - 6, labels[index]) for index in ticks),
    )
    lines = []
    for number, one in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        segments: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(one.values):
            if value is None:
                segments.append([])
            else:
                segments[-1].append((x(index), y(value)))
        for segment in segments:
            if len(segment) == 1:
                lines.append(
                    format_html(
                        '<circle cx="{}" cy="{}" r="2.5" fill="{}"/>',
                        _n(segment[0][0]),
                        _n(segment[0][1]),
                        colour,
                    )
                )
            elif segment:
                points = " ".join(f"{px:.1f},{py:.1f}" for px, py in segment)
                lines.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                        points,
                        colour,
                    )
                )
    legend = format_html_join(
        "",
        '<span class="chart-key"><span class="chart-swatch" style="background:{}"></span>{}</span>',
        ((COLOURS[n % len(COLOURS)], one.name) for n, one in enumerate(series)),
    )
    empty = (
        format_html(
            '<text x="{}" y="{}" class="chart-empty" text-anchor="middle">No data in this period</text>',
            LEFT + plot_w / 2,
            TOP + plot_h / 2,
        )
        if not present
        else ""
    )
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" width="{}" height="{}" role="img">'
        "<title>{}</title><desc>{}</desc>{}{}{}{}</svg><figcaption>{} {}</figcaption></figure>",
        WIDTH,
        HEIGHT,
        WIDTH,
        HEIGHT,
        title,
        summary or title,
        grid,
        x_labels,
        mark_safe("".join(lines)),
        empty,
        title,
        legend,
    )


def bar(fraction: float | None, *, width: int = 120, label: str = "") -> SafeString:
    """A horizontal bar for a rate in a table cell (the number stands beside it)."""
    if fraction is None:
        return mark_safe("")
    filled = max(0.0, min(1.0, fraction)) * width
    return format_html(
        '<svg class="chart-bar" width="{}" height="10" role="img" aria-label="{}">'
        '<rect width="{}" height="10" class="chart-bar-back"/>'
        '<rect width="{}" height="10" class="chart-bar-fill"/></svg>',
        width,
        label or f"{fraction:.0%}",
        width,
        _n(filled),
    )
