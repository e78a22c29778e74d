"""The dashboard's history: daily counts, daily levels and the latest uploads, in the tree.

Counts (downloads, upstream answers, bytes stored by the mirror) are added by every process
of a deployment, each a few times a minute: they are ``BTrees.Length`` counters, which merge
concurrent increments instead of conflicting, in one OOBTree keyed by (day, series). Levels
(the bytes stored) are what was seen on a day, the last look winning. Days older than
``KEEP_DAYS`` are dropped as new ones come. The latest uploads are noted by the upload
itself, a bounded list of the newest few, each found again in the tree when shown (a file
deleted since is left out).
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Iterable

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from shop.model import names

KEEP_DAYS = 400  # days of counts and levels kept
KEEP_UPLOADS = 50  # uploads remembered for the dashboard's list
_SLACK = 20  # uploads noted past KEEP_UPLOADS before the oldest go (few writes conflict)

Point = tuple[datetime.date, int]

# The series (``shop.operations.daily`` counts them from the meters' events).
DOWNLOADS_HOSTED = "downloads:hosted"  # files served of uploads
DOWNLOADS_MIRRORED = "downloads:mirrored"  # files served of the mirror
CACHE_HIT = "cache:hit"  # mirrored files served from stored bytes
CACHE_MISS = "cache:miss"  # ... fetched from upstream to be served
UPSTREAM_OK = "upstream:ok"  # requests to an upstream index answered
UPSTREAM_ERROR = "upstream:error"  # ... failed
MIRROR_STORED = "mirror:stored"  # bytes of mirrored files stored
UPLOADS = "uploads"  # files uploaded
UPLOAD_BYTES = "upload:bytes"  # their bytes
STORED_BYTES = "stored:bytes"  # a level: the bytes of every repository's stored files


@dataclass(frozen=True)
class UploadNote:
    """One uploaded file, as the dashboard lists it."""

    when: datetime.datetime
    repository: str
    project: str  # the project's key (normalized name)
    version: str  # the release's key (canonical version)
    filename: str
    name: str  # the project's name as shown
    version_shown: str
    uploader: str

    @classmethod
    def of_event(cls, event) -> "UploadNote":
        """The note of an upload event (``shop.model.events``: the file just stored)."""
        when = event.detail.get("upload_time")
        return cls(datetime.datetime.fromisoformat(when) if when else
                   datetime.datetime.fromtimestamp(event.time, datetime.timezone.utc),
                   event.repository, names.normalize(event.project),
                   names.version_key(event.version), event.filename, event.project,
                   event.version, event.detail.get("uploader", event.actor.user))


class Uploads(OOBTree):
    """The latest uploads by (moment, ...): small buckets, as each upload rewrites one whole."""

    max_leaf_size = 8


class Stats(Persistent):
    """Daily counts and levels of the whole index, and its latest uploads."""

    def __init__(self) -> None:
        self.counts = OOBTree()  # (ISO day, series) -> Length
        self.levels = OOBTree()  # (ISO day, series) -> int
        self.uploads = Uploads()  # (ISO moment, repository, project, version, filename) -> tuple

    def add(self, day: datetime.date, series: str, amount: int) -> None:
        """Add ``amount`` to a day's count of ``series``."""
        key = (day.isoformat(), series)
        counter = self.counts.get(key)
        if counter is None:
            counter = self.counts[key] = Length()
        counter.change(int(amount))

    def set_level(self, day: datetime.date, series: str, value: int) -> bool:
        """Say what ``series`` stood at on ``day``; whether that changed what was stored."""
        key = (day.isoformat(), series)
        if self.levels.get(key) == value:
            return False  # no write: every process looks every minute
        self.levels[key] = int(value)
        return True

    def daily(self, series: str, days: list[datetime.date]) -> list[Point]:
        """The count of ``series`` on each of ``days`` (0 for a day without any)."""
        return [(day, self._count(day, series)) for day in days]

    def _count(self, day: datetime.date, series: str) -> int:
        counter = self.counts.get((day.isoformat(), series))
        return counter() if counter is not None else 0

    def level(self, series: str, days: list[datetime.date]) -> list[tuple[datetime.date, int | None]]:
        """What ``series`` stood at on each of ``days`` (ascending): the last level seen on or
        before the day (a day the server was stopped keeps the day before's); None before
        the first."""
        if not days:
            return []
        seen = {day: value for (day, name), value in
                self.levels.items(max=(days[-1].isoformat(), "\uffff")) if name == series}
        points: list[tuple[datetime.date, int | None]] = []
        last = None
        for day, value in sorted(seen.items()):
            if day < days[0].isoformat():
                last = value
        for day in days:
            last = seen.get(day.isoformat(), last)
            points.append((day, last))
        return points

    def drop_before(self, day: datetime.date) -> int:
        """Forget the counts and levels of days before ``day``; how many were dropped."""
        dropped = 0
        for tree in (self.counts, self.levels):
            old = list(tree.keys(max=(day.isoformat(),), excludemax=True))
            for key in old:
                del tree[key]
            dropped += len(old)
        return dropped

    def note_upload(self, note: UploadNote) -> None:
        """Remember an upload; past the bound the oldest are forgotten (a few at a time)."""
        key = (note.when.isoformat(), note.repository, note.project, note.version, note.filename)
        self.uploads[key] = (note.name, note.version_shown, note.uploader)
        if len(self.uploads) > KEEP_UPLOADS + _SLACK:
            for old in list(self.uploads.keys())[:-KEEP_UPLOADS]:
                del self.uploads[old]

    def latest_uploads(self) -> Iterable[UploadNote]:
        """The uploads remembered, newest first."""
        for key in reversed(list(self.uploads.keys())):
            when, repository, project, version, filename = key
            name, version_shown, uploader = self.uploads[key]
            yield UploadNote(datetime.datetime.fromisoformat(when), repository, project,
                             version, filename, name, version_shown, uploader)


def last_days(today: datetime.date, count: int) -> list[datetime.date]:
    """The ``count`` days up to and including ``today``, oldest first."""
    return [today - datetime.timedelta(days=n) for n in range(count - 1, -1, -1)]


def note_uploads(root, events, *, kind: str) -> None:
    """The sink of ``shop.model.events`` (``kind``: its upload kind): the committing
    transaction's uploads, into the dashboard's list of the latest."""
    stats = root.stats
    if stats is None:  # an older database: start-up adds it (shop.model.bootstrap)
        return
    for event in events:
        if event.kind == kind:
            stats.note_upload(UploadNote.of_event(event))
