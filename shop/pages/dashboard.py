"""The dashboard's charts, drawn from the history the tree keeps (``shop.model.stats``)."""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from shop.model import stats as series
from shop.model.root import Root
from shop.model.stats import KEEP_DAYS, Stats, UploadNote, last_days
from shop.model.tree import Package, Release
from shop.pages import charts
from shop.pages.charts import Series
from shop.pages.units import short_size, size

DAYS = 30  # shown by default
MIN_DAYS, MAX_DAYS = 7, KEEP_DAYS  # that a request may ask for
LATEST = 10  # uploads listed
HOSTED, MIRRORED = "#1f5fbf", "#2a9d8f"
STORED, HITS, ERRORS = "#6a4c93", "#1e7a3c", "#b3261e"


@dataclass(frozen=True)
class Chart:
    key: str  # the figure's id
    title: str
    svg: str  # markup, escaped
    headline: str  # the chart's numbers in a few words, beside its title


def dashboard_charts(stats: Stats | None, today: datetime.date, days: int = DAYS) -> list[Chart]:
    """Downloads, bytes stored, the mirror's cache hits, upstream errors: the last ``days``."""
    window = last_days(today, days)
    stats = stats if stats is not None else Stats()  # a database the server never started on

    def daily(name: str) -> list[int]:
        return [value for _day, value in stats.daily(name, window)]

    return [
        _downloads(window, daily(series.DOWNLOADS_HOSTED), daily(series.DOWNLOADS_MIRRORED)),
        _stored(window, [value for _day, value in stats.level(series.STORED_BYTES, window)]),
        _hits(window, daily(series.CACHE_HIT), daily(series.CACHE_MISS)),
        _errors(window, daily(series.UPSTREAM_ERROR), daily(series.UPSTREAM_OK)),
    ]


def _downloads(window, hosted: list[int], mirrored: list[int]) -> Chart:
    title = "Downloads per day"
    svg = charts.bar_chart(title, window, [Series("hosted", HOSTED, hosted),
                                           Series("mirrored", MIRRORED, mirrored)])
    return Chart("downloads", title, svg, f"{charts.count(sum(hosted) + sum(mirrored))} in all")


def _stored(window, stored: list[int | None]) -> Chart:
    title = "Bytes stored"
    svg = charts.line_chart(title, window, Series("stored", STORED, stored), fmt=size,
                            axis=short_size, ceiling=charts.binary_ceiling)
    return Chart("stored", title, svg, f"{size(stored[-1])} now" if stored[-1] is not None else "")


def _hits(window, hits: list[int], misses: list[int]) -> Chart:
    """The share of mirrored downloads served from stored bytes, per day."""
    title = "Mirror cache hit ratio"
    asked = [h + m for h, m in zip(hits, misses)]
    ratios = [100.0 * h / n if n else 0.0 for h, n in zip(hits, asked)]
    notes = [f"{h} of {n} mirrored downloads from the cache" if n else "no mirrored downloads"
             for h, n in zip(hits, asked)]
    total = sum(asked)
    overall = (f"{charts.percent(100.0 * sum(hits) / total)} of {total} mirrored downloads"
               if total else "no mirrored downloads")
    summary = f"{title}, last {len(window)} days: {overall} served from the cache"
    svg = charts.bar_chart(title, window, [Series("from the cache", HITS, ratios)],
                           fmt=charts.percent, top=100.0, notes=notes, summary=summary,
                           has_data=total > 0)
    headline = charts.percent(100.0 * sum(hits) / total) + " in all" if total else ""
    return Chart("hits", title, svg, headline)


def _errors(window, errors: list[int], answered: list[int]) -> Chart:
    title = "Upstream errors"
    asked = sum(errors) + sum(answered)
    notes = [f"of {e + ok} upstream requests" for e, ok in zip(errors, answered)]
    summary = f"{title}, last {len(window)} days: {sum(errors)} errors of {asked} upstream requests"
    svg = charts.bar_chart(title, window, [Series("errors", ERRORS, errors)], notes=notes,
                           summary=summary, has_data=asked > 0,
                           message="No errors" if asked and not sum(errors) else None)
    headline = f"{charts.count(sum(errors))} of {charts.count(asked)} requests" if asked else ""
    return Chart("errors", title, svg, headline)


@dataclass(frozen=True)
class LatestUpload:
    note: UploadNote
    package: Package
    release: Release


def latest_uploads(root: Root, readable: set[str], limit: int = LATEST) -> list[LatestUpload]:
    """The newest uploads to the repositories named ``readable`` whose files are still there."""
    found: list[LatestUpload] = []
    for note in root.stats.latest_uploads() if root.stats is not None else ():
        repository = root.repositories.get(note.repository) if note.repository in readable else None
        package = repository.get(note.project) if repository is not None else None
        release = package.get(note.version) if package is not None else None
        if release is not None and note.filename in release:
            found.append(LatestUpload(note, package, release))
            if len(found) >= limit:
                break
    return found


def days_shown(value: str | None) -> int:
    """The days a dashboard request asks for (``?days=``): DAYS unless a whole number in range."""
    if value and len(value) <= 3 and value.isascii() and value.isdigit() \
            and MIN_DAYS <= int(value) <= MAX_DAYS:
        return int(value)
    return DAYS
