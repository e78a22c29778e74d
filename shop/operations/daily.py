"""The dashboard's daily counts: added up in memory as they happen, written in batches.

A meters listener (``DailyCounts.note``) adds each download, upstream request and stored
byte to today's count under a lock: a dictionary update, no database. Every
``shop.stats.interval`` seconds (and at exit) the counts are handed to the process's one
writer (``shop.mirror.writer``), which adds them to the tree's history in its next group
commit, with the day's level of bytes stored; the tree's counters merge what every process
of a ZEO deployment adds. A write that fails gives its counts back for the next one; a crash
loses at most one interval's counts.
"""
from __future__ import annotations

import atexit
import datetime
import logging
import threading
import time
import weakref
from concurrent.futures import Future
from typing import Callable

from shop import meters
from shop.model import stats as series
from shop.model.root import Root
from shop.model.stats import KEEP_DAYS
from shop.operations import periodic

log = logging.getLogger(__name__)

Counts = dict[tuple[datetime.date, str], int]
LEVEL_EVERY = 600.0  # seconds between two looks at the bytes stored while nothing is counted
EXIT_PATIENCE = 10.0  # seconds the last write may take at exit


def today() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()


def _downloads(amount: float, labels: dict) -> list[tuple[str, float]]:
    if labels.get("origin") == "hosted":
        return [(series.DOWNLOADS_HOSTED, amount)]
    found = [(series.DOWNLOADS_MIRRORED, amount)]
    if labels.get("cache") in ("hit", "miss"):
        found.append((series.CACHE_HIT if labels["cache"] == "hit" else series.CACHE_MISS, amount))
    return found


# What each event counts in: (series, amount) from the note's amount and labels.
SERIES: dict[str, Callable[[float, dict], list[tuple[str, float]]]] = {
    meters.DOWNLOAD: _downloads,
    meters.UPSTREAM: lambda amount, labels: [
        (series.UPSTREAM_ERROR if labels.get("outcome") == "error" else series.UPSTREAM_OK, amount)],
    meters.MIRROR_STORE: lambda amount, labels: [(series.MIRROR_STORED, amount)],
    meters.UPLOAD: lambda amount, labels: [(series.UPLOADS, 1), (series.UPLOAD_BYTES, amount)],
}


class DailyCounts:
    """Today's counts of this process, not written yet."""

    def __init__(self, clock: Callable[[], datetime.date] = today) -> None:
        self._lock = threading.Lock()
        self._pending: Counts = {}
        self._clock = clock

    def note(self, event: str, amount: float, labels: dict) -> None:
        """The meters listener: count ``event`` (the others are not the dashboard's)."""
        counts = SERIES.get(event)
        if counts is None:
            return
        day = self._clock()
        with self._lock:
            for name, value in counts(amount, labels):
                key = (day, name)
                self._pending[key] = self._pending.get(key, 0) + int(value)

    def pending(self) -> Counts:
        with self._lock:
            return dict(self._pending)

    def take(self) -> Counts:
        with self._lock:
            taken, self._pending = self._pending, {}
            return taken

    def put_back(self, taken: Counts) -> None:
        with self._lock:
            for key, value in taken.items():
                self._pending[key] = self._pending.get(key, 0) + value


def record(root: Root, counts: Counts, day: datetime.date) -> None:
    """Add ``counts`` to the tree's history, with the bytes stored on ``day``; forget days
    past the bound (in the writer's transaction: maybe run again after a conflict)."""
    history = root.stats
    if history is None:  # a database older than the history, not yet brought up to date
        return
    for (when, name), value in counts.items():
        history.add(when, name, value)
    stored = sum(repository.stored_bytes() for repository in root.repositories.values())
    history.set_level(day, series.STORED_BYTES, stored)
    oldest = history.counts.minKey() if history.counts else None
    limit = day - datetime.timedelta(days=KEEP_DAYS - 1)
    if oldest is not None and oldest[0] < limit.isoformat():
        history.drop_before(limit)


class DailyStats:
    """The process's counts and their writes through the writer."""

    def __init__(self, writer, clock: Callable[[], datetime.date] = today) -> None:
        self.counts = DailyCounts(clock)
        self._writer = writer
        self._clock = clock
        self._looked: tuple[datetime.date, float] | None = None  # the last level written

    def due(self) -> bool:
        """Whether a write has something to do: counts, or a look at the bytes stored."""
        if self.counts.pending():
            return True
        if self._looked is None or self._looked[0] != self._clock():
            return True
        return time.monotonic() - self._looked[1] >= LEVEL_EVERY

    def flush(self) -> Future:
        """Hand the counts to the writer; the future is done once they are committed, or
        once a failure has given them back for the next write."""
        taken, day = self.counts.take(), self._clock()
        self._looked = (day, time.monotonic())
        written = self._writer.submit(lambda root: record(root, taken, day), key="shop.stats")
        settled: Future = Future()

        def settle(done: Future) -> None:
            error = done.exception()
            if error is None:
                settled.set_result(done.result())
                return
            log.warning("dashboard counts not written (%s): kept for the next write", error)
            self.counts.put_back(taken)
            settled.set_exception(error)

        written.add_done_callback(settle)
        return settled


class Flusher(periodic.Periodic):
    """The thread that writes the counts every ``shop.stats.interval`` seconds."""

    name = "dashboard-counts"
    failure = "writing the daily counts failed"

    def tick(self, services) -> Future | None:
        return services.stats.flush() if services.stats.due() else None


def includeme(config) -> None:
    """The process's daily counts: a meters listener, written every ``shop.stats.interval``
    seconds and at exit (before the database is closed: ``shop.storage`` registered that
    earlier, and exit handlers run last first)."""
    services = config.registry.shop
    services.stats = stats = DailyStats(services.writer)
    services.meters.listen(stats.counts.note)
    ref = weakref.ref(stats)

    def write_at_exit() -> None:
        daily = ref()
        if daily is None or not daily.counts.pending():
            return
        try:
            daily.flush().result(EXIT_PATIENCE)
        except Exception:  # exiting: one interval's counts are all that is lost
            log.exception("dashboard: writing the daily counts at exit")

    atexit.register(write_at_exit)
    Flusher(services, services.settings.stats_interval).start()
