"""Inline SVG charts: grouped bars for the reports, score trends with bands for the file. Pure.

Every mark carries its figure in ``data-value`` (and a ``<title>`` a screen reader and a
tooltip read). A suppressed figure is drawn as a dashed, hatched placeholder of fixed height
with ``data-suppressed``: its size says nothing about its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

FONT = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Microsoft YaHei',sans-serif"
PALETTE = ("#2f6f9f", "#9fc3de", "#c8553d", "#f2a65a", "#6a994e")
HATCH = (
    '<defs><pattern id="hg-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#999" '
    'stroke-width="2"/></pattern></defs>'
)


@dataclass(frozen=True)
class Series:
    """One named run of bars; None is a suppressed figure."""

    name: str
    values: tuple[int | None, ...]


def bar_chart(
    title: str, categories: Sequence[str], series: Sequence[Series], *, width: int = 640
) -> str:
    """Grouped vertical bars, one group per category, with a legend."""
    height, left, bottom, top = 240, 44, 56, 28
    plot_w, plot_h = width - left - 12, height - bottom - top
    shown = [v for s in series for v in s.values if v is not None]
    peak = max([*shown, 1])
    group = plot_w / max(1, len(categories))
    bar = max(4.0, min(28.0, (group - 10) / max(1, len(series))))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" style="font-family:{FONT}">',
        f"<title>{escape(title)}</title>",
        HATCH,
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 12}" y2="{top + plot_h}" '
        'stroke="#444"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for c, category in enumerate(categories):
        x0 = left + c * group + (group - bar * len(series)) / 2
        for s, run in enumerate(series):
            x = x0 + s * bar
            value = run.values[c] if c < len(run.values) else None
            label = f"{category} · {run.name}: "
            if value is None:
                h = plot_h * 0.25
                parts.append(
                    f'<rect class="bar" data-suppressed="1" x="{x:.1f}" '
                    f'y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                    'fill="url(#hg-hatch)" stroke="#777" stroke-dasharray="3 2">'
                    f"<title>{escape(label)}*</title></rect>"
                    f'<text x="{x + bar / 2 - 1:.1f}" y="{top + plot_h - h - 3:.1f}" '
                    'font-size="10" text-anchor="middle">*</text>'
                )
                continue
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar" data-value="{value}" x="{x:.1f}" '
                f'y="{top + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)}{value}</title></rect>'
                f'<text x="{x + bar / 2 - 1:.1f}" y="{top + plot_h - h - 3:.1f}" '
                f'font-size="10" text-anchor="middle">{value}</text>'
            )
        parts.append(
            f'<text x="{left + c * group + group / 2:.1f}" y="{top + plot_h + 14}" '
            f'font-size="10" text-anchor="middle">{escape(category)}</text>'
        )
    for s, run in enumerate(series):
        x = left + s * 120
        parts.append(
            f'<rect x="{x}" y="{height - 16}" width="10" height="10" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="{height - 7}" font-size="11">{escape(run.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Band:
    """A shaded severity band of an instrument: scores ``low`` to ``high`` inclusive."""

    low: int
    high: int
    name: str
    colour: str


@dataclass(frozen=True)
class Point:
    """One scored check-in."""

    at: datetime
    score: int


def trend_chart(
    title: str,
    points: Sequence[Point],
    bands: Sequence[Band],
    *,
    markers: Sequence[tuple[datetime, str]] = (),
    width: int = 640,
) -> str:
    """A score over time, the instrument's bands shaded behind it, events as red ticks."""
    height, left, right, top, bottom = 220, 36, 110, 24, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    top_score = max(band.high for band in bands)
    times = [p.at for p in points] + [m[0] for m in markers]
    first, last = (min(times), max(times)) if times else (None, None)
    span = (last - first).total_seconds() if first and last and last > first else 1.0

    def x(at: datetime) -> float:
        if first is None:
            return left + plot_w / 2
        return left + plot_w * (at - first).total_seconds() / span if span else left

    def y(score: float) -> float:
        return top + plot_h * (1 - score / top_score)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart trend" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" style="font-family:{FONT}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="15" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for band in bands:
        y_top, y_low = y(band.high + 1 if band.high < top_score else top_score), y(band.low)
        parts.append(
            f'<rect class="band" x="{left}" y="{y_top:.1f}" width="{plot_w}" '
            f'height="{y_low - y_top:.1f}" fill="{band.colour}" opacity="0.35"/>'
            f'<text x="{left + plot_w + 4}" y="{(y_top + y_low) / 2 + 4:.1f}" '
            f'font-size="10">{escape(band.name)} ({band.low}–{band.high})</text>'
        )
    for at, label in markers:
        parts.append(
            f'<line class="marker" x1="{x(at):.1f}" y1="{top}" x2="{x(at):.1f}" '
            f'y2="{top + plot_h}" stroke="#c8553d" stroke-dasharray="4 3">'
            f"<title>{escape(label)} {at:%Y-%m-%d}</title></line>"
        )
    if points:
        path = " ".join(f"{x(p.at):.1f},{y(p.score):.1f}" for p in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1d3557" stroke-width="2"/>')
        for p in points:
            parts.append(
                f'<circle class="point" data-value="{p.score}" cx="{x(p.at):.1f}" '
                f'cy="{y(p.score):.1f}" r="3.5" fill="#1d3557">'
                f"<title>{p.at:%Y-%m-%d}: {p.score}</title></circle>"
            )
    if first is not None and last is not None:
        parts.append(
            f'<text x="{left}" y="{height - 8}" font-size="10">{first:%Y-%m-%d}</text>'
            f'<text x="{left + plot_w}" y="{height - 8}" font-size="10" '
            f'text-anchor="end">{last:%Y-%m-%d}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
