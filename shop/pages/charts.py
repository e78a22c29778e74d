"""Charts drawn on the server as SVG: series of daily values in, escaped markup out.

No script and no ``style`` attribute (the pages' Content-Security-Policy allows neither):
colours are presentation attributes. Each chart is an image to assistive technology
(``role="img"``, an ``aria-label`` summing its numbers up) and says each day's numbers in
a ``<title>`` (the browser shows it on hover). A chart with nothing but zeros is drawn empty,
with "No data yet" across it.
"""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from html import escape
from typing import Callable, Sequence

WIDTH, HEIGHT = 520, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 34  # margins: axis labels, legend
INK, MUTED, GRID = "#1d232b", "#5f6b7a", "#dde2e8"
FONT = "system-ui, sans-serif"
DATES = 5  # dates on the x axis, about, a week or some weeks apart (every day for a week)
NO_DATA = "No data yet"

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    """One line or one layer of bars: a value per day."""

    label: str
    colour: str
    values: Sequence[float | None]  # None: not known (a line leaves the day out)


def count(value: float) -> str:
    """A number of things: whole, with thousands separated."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def percent(value: float) -> str:
    return f"{value:.0f} %"


def day_label(day: datetime.date) -> str:
    return f"{day:%b} {day.day}"


def nice_ceiling(value: float, whole: bool = True) -> float:
    """The top of an axis over ``value``: 1, 2, 4, 5 or 8 times a power of ten (even, for
    counts: the middle line is a whole number too)."""
    if value <= 0:
        return 2.0 if whole else 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 5, 8, 10):
        top = step * power
        if top >= value and (not whole or top >= 2 and top % 2 == 0):
            return float(top)
    return 10.0 * power


def binary_ceiling(value: float) -> float:
    """The top of an axis of bytes: 1, 2 or 5 times a power of 1024 (KiB, MiB...) or of ten
    of them, so that the labels read as round sizes."""
    if value < 1024:
        return nice_ceiling(value)
    scale = 1024 ** math.floor(math.log(value, 1024))
    return nice_ceiling(value / scale, whole=False) * scale


def bar_chart(title: str, days: Sequence[datetime.date], series: Sequence[Series], *,
              fmt: Formatter = count, top: float | None = None,
              notes: Sequence[str] | None = None, summary: str | None = None,
              has_data: bool | None = None, message: str | None = None) -> str:
    """Bars per day, the series stacked; ``notes``: more words for each day's title;
    ``has_data``: whether there is something to show (else: any value but 0);
    ``message``: words across the chart (else "No data yet" when there is nothing)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(days))]
    empty = not any(totals) if has_data is None else not has_data
    top = top or nice_ceiling(max(totals, default=0), whole=fmt is count)
    slot = _plot_width() / max(len(days), 1)
    parts = _frame(days, None if empty else top, fmt, series if len(series) > 1 else ())
    for i, day in enumerate(days if not empty else ()):
        words = ", ".join(f"{fmt(s.values[i])} {s.label}" for s in series)
        if notes:
            words += f" ({notes[i]})" if notes[i] else ""
        parts.append(f'<g class="day"><title>{escape(day.isoformat())}: {escape(words)}</title>')
        x, base = LEFT + i * slot, float(HEIGHT - BOTTOM)
        parts.append(_rect(x, TOP, slot, base - TOP, "#000", ' fill-opacity="0"'))
        for s in series:
            height = _plot_height() * min(s.values[i], top) / top
            parts.append(_rect(x + slot * 0.14, base - height, slot * 0.72, height, s.colour,
                               ' class="bar"'))
            base -= height
        parts.append("</g>")
    message = message or (NO_DATA if empty else None)
    return _svg(title, summary or _summary(title, days, series, fmt), parts, message)


def line_chart(title: str, days: Sequence[datetime.date], series: Series, *,
               fmt: Formatter = count, axis: Formatter | None = None,
               ceiling: Callable[[float], float] = nice_ceiling, summary: str | None = None) -> str:
    """A value per day as a line over a shaded area, a point per day with a value (None: not
    known, before the first); ``axis`` formats the axis's values (else ``fmt``), ``ceiling``
    finds the axis's top over the largest value."""
    known = [(i, v) for i, v in enumerate(series.values) if v is not None]
    empty = not any(v for _i, v in known)
    top = ceiling(max((v for _i, v in known), default=0))
    slot = _plot_width() / max(len(days), 1)
    parts = _frame(days, None if empty else top, axis or fmt, ())
    base = HEIGHT - BOTTOM
    points = [(i, v, LEFT + (i + 0.5) * slot, base - _plot_height() * v / top) for i, v in known]
    if not empty:
        line = " ".join(f"{x:.1f},{y:.1f}" for _i, _v, x, y in points)
        parts.append(f'<polygon points="{points[0][2]:.1f},{base} {line} {points[-1][2]:.1f},{base}"'
                     f' fill="{series.colour}" fill-opacity="0.15"/>')
        parts.append(f'<polyline points="{line}" fill="none" stroke="{series.colour}"'
                     ' stroke-width="2" stroke-linejoin="round"/>')
        for i, value, x, y in points:
            parts.append(f'<g class="day"><title>{escape(days[i].isoformat())}: '
                         f'{escape(fmt(value))} {escape(series.label)}</title>'
                         f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3"'
                         f' fill="{series.colour}"/></g>')
    last = f"{fmt(known[-1][1])} {series.label} on {days[known[-1][0]].isoformat()}" if known else "none"
    return _svg(title, summary or f"{title}, last {len(days)} days: {last}", parts,
                NO_DATA if empty else None)


def _plot_width() -> float:
    return WIDTH - LEFT - RIGHT


def _plot_height() -> float:
    return HEIGHT - TOP - BOTTOM


def _rect(x: float, y: float, width: float, height: float, fill: str, extra: str = "") -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}"'
            f' fill="{escape(fill)}"{extra}/>')


def _text(x: float, y: float, words: str, anchor: str = "middle", fill: str = MUTED,
          size: int = 13) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"'
            f' font-size="{size}">{escape(words)}</text>')


def _label_every(days: int) -> int:
    """Days between two dates on the x axis, counted back from the last day."""
    return 1 if days <= 10 else 7 * math.ceil(days / 7 / DATES)


def _frame(days: Sequence[datetime.date], top: float | None, fmt: Formatter,
           legend: Sequence[Series]) -> list[str]:
    """Grid lines with the y axis's values (none but 0 when ``top`` is None: nothing to
    show), the dates under it, the legend above."""
    parts = []
    for fraction in (0, 0.5, 1):
        y = HEIGHT - BOTTOM - _plot_height() * fraction
        colour = MUTED if fraction == 0 else GRID
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"'
                     f' stroke="{colour}" stroke-width="1"/>')
        if top is not None or not fraction:
            parts.append(_text(LEFT - 6, y + 4.5, fmt(top * fraction) if fraction else "0", "end"))
    slot = _plot_width() / max(len(days), 1)
    for i in range(len(days) - 1, -1, -_label_every(len(days))):
        parts.append(_text(LEFT + (i + 0.5) * slot, HEIGHT - BOTTOM + 19, day_label(days[i])))
    x = float(LEFT)
    for s in legend:
        parts.append(_rect(x, 8, 12, 12, s.colour))
        parts.append(_text(x + 17, 18.5, s.label, "start", INK))
        x += 34 + 7.5 * len(s.label)
    return parts


def _svg(title: str, summary: str, parts: list[str], message: str | None) -> str:
    if message:  # between the top line and the middle one
        parts.append(_text(LEFT + _plot_width() / 2, TOP + _plot_height() / 4 + 5, message,
                           fill=MUTED, size=15))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}"'
            f' width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(summary)}"'
            f' font-family="{FONT}"><title>{escape(title)}</title>' + "".join(parts) + "</svg>")


def _summary(title: str, days: Sequence[datetime.date], series: Sequence[Series],
             fmt: Formatter) -> str:
    """Totals of each series over the days, and the busiest day."""
    totals = ", ".join(f"{fmt(sum(s.values))} {s.label}" for s in series)
    per_day = [sum(s.values[i] for s in series) for i in range(len(days))]
    words = f"{title}, last {len(days)} days: {totals}"
    if any(per_day):
        busiest = max(range(len(days)), key=lambda i: (per_day[i], i))
        words += f"; the most on {days[busiest].isoformat()} ({fmt(per_day[busiest])})"
    return words
