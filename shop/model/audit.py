"""The audit log: every change somebody made, with who, when, from where and what.

``write`` is a record of ``shop.model.events``: the events of a committed transaction are
written into the log by the process's writer once it has committed (from the command line, in
that same transaction), so an entry exists only when its change was committed.

The entries are an ``LOBTree`` keyed by the time in microseconds times ``TICKS`` plus a
random tie-breaker: ordered by time, and writers committing at once insert different keys,
which BTrees' conflict resolution merges (a clash the writer retries). Each filter value
(user, repository, project, kind) has an ``LOTreeSet`` of the keys of its entries, so a page
of one filter walks only its own entries, newest first, by ``maxKey`` (log n each); several
filters leapfrog between their sets. A page examines at most ``MAX_STEPS`` keys: past that
it says how far it looked, and its "older" link goes on from there, so no page costs more
than a bounded amount of work with any number of entries.
"""
from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Iterator

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree, LOTreeSet
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from shop.model import names

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
TICKS = 1000  # keys per microsecond: time in microseconds * TICKS + a tie-breaker
FILTERS = ("user", "repository", "project", "kind")  # what the log is indexed by
PAGE_SIZE = 50
MAX_STEPS = 20_000  # keys one page examines at most
MAX_FILTER = names.MAX_NAME_LENGTH  # characters of a filter value looked up
LAST_KEY = 2**63 - 1


# Ordered: BTrees' conflict resolution compares the values of keys both sides kept, and
# values that cannot be compared make every concurrent insert a conflict.
@dataclass(frozen=True, order=True)
class Entry:
    """One change as the log keeps it (a plain record inside the BTree's buckets)."""

    time: float  # UTC seconds
    kind: str
    user: str  # who acted: a user name, "anonymous", "<user> (command line)"; for a failed
    # login, the name that was tried
    address: str  # the client's address, or "local"
    via: str = ""  # the access key of the credential that authenticated the request
    repository: str = ""
    project: str = ""
    version: str = ""
    filename: str = ""
    detail: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, event) -> "Entry":
        """The entry of a ``shop.model.events.Event``."""
        actor = event.actor
        return cls(event.time, event.kind, actor.user, actor.address, actor.via,
                   event.repository, event.project, event.version, event.filename,
                   tuple(event.detail.items()))

    @property
    def when(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.time, datetime.timezone.utc)

    def subjects(self) -> set[str]:
        """The users the entry is by or about (an account changed, a credential's owner)."""
        detail = dict(self.detail)
        return {name for name in (self.user, detail.get("user"), detail.get("owner")) if name}

    def index_keys(self) -> Iterator[tuple[str, str]]:
        """The (filter, value) pairs under which the entry is found."""
        for name in sorted(self.subjects()):
            yield "user", name
        if self.repository:
            yield "repository", self.repository
        if self.project:
            yield "project", names.normalize(self.project)
        yield "kind", self.kind

    def as_dict(self) -> dict:
        """The entry as JSON takes it (``localshop audit --json``)."""
        return {"time": self.when.isoformat().replace("+00:00", "Z"), "kind": self.kind,
                "user": self.user, "via": self.via, "address": self.address,
                "repository": self.repository, "project": self.project,
                "version": self.version, "filename": self.filename, "detail": dict(self.detail)}


class Entries(LOBTree):
    """The entries by key. Buckets of 16 entries, not BTrees' 60: a bucket is written whole
    at each change, and entries are written one commit at a time (measured: 9.6 KB of
    ``Data.fs`` per entry with 60, 4.6 KB with 16)."""

    max_leaf_size = 16


class AuditLog(Persistent):
    """The entries by time, their indexes, and their count."""

    __name__ = "+audit"

    def __init__(self) -> None:
        self.entries = Entries()
        self.indexes = OOBTree()  # (filter, value) -> LOTreeSet of entry keys
        self.count = Length()

    def __len__(self) -> int:
        return self.count()

    def add(self, entry: Entry) -> int:
        """Store ``entry``; its key."""
        # secrets, not random: the writer's thread leaves the random module's state alone
        key = key_of(entry.time) + secrets.randbelow(TICKS)
        while key in self.entries:  # two entries of one microsecond in one transaction
            key += 1
        self.entries[key] = entry
        self.count.change(1)
        for index_key in entry.index_keys():
            keys = self.indexes.get(index_key)
            if keys is None:
                keys = self.indexes[index_key] = LOTreeSet()
            keys.add(key)
        return key

    def remove(self, key: int) -> Entry:
        entry = self.entries.pop(key)
        self.count.change(-1)
        for index_key in entry.index_keys():
            keys = self.indexes.get(index_key)
            if keys is not None:
                keys.remove(key)
                if not keys:
                    del self.indexes[index_key]
        return entry

    def since(self, moment: float | None = None) -> Iterator[Entry]:
        """The entries from ``moment`` on (all without), oldest first."""
        return iter(self.entries.values(min=key_of(moment) if moment is not None else None))


def key_of(moment: float) -> int:
    """The smallest key of an entry made at ``moment`` (UTC seconds), to the microsecond
    rounded as ``datetime`` rounds it: an entry is found from the time it is shown with."""
    try:  # datetime's own rounding: ``round(moment * 1e6)`` differs from it for 1 time in 8
        when = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):  # before the year 1 or after 9999
        return 0 if moment < 0 else LAST_KEY
    micros = (when - EPOCH) // datetime.timedelta(microseconds=1)
    return min(LAST_KEY, max(0, micros) * TICKS)  # BTrees' keys: 64 bits


def log_of(root) -> AuditLog | None:
    """The root's audit log (None in a database no server of this version has opened yet)."""
    return getattr(root, "audit", None)


def write(root, events: Iterable) -> None:
    """The sink of ``shop.model.events``: the committing transaction's events, into the log."""
    log = log_of(root)
    if log is None:  # an older database: start-up adds it (shop.model.bootstrap)
        log = root.audit = AuditLog()
    for event in events:
        log.add(Entry.of(event))


def expire(log: AuditLog, before: float, limit: int) -> int:
    """Remove up to ``limit`` of the oldest entries made before ``before``; how many."""
    keys = list(islice(log.entries.keys(max=key_of(before) - 1), limit)) if before > 0 else []
    for key in keys:
        log.remove(key)
    return len(keys)


@dataclass(frozen=True)
class Page:
    entries: list[tuple[int, Entry]]  # newest first
    newer: int | None  # the ``after`` cursor of the page of newer entries, if there may be any
    older: int | None  # the ``before`` cursor of the page of older ones, likewise
    searched_to: float | None = None  # when the page stopped looking (MAX_STEPS): that moment


def page(log: AuditLog | None, filters: dict[str, str], *, before: int | None = None,
         after: int | None = None, size: int = PAGE_SIZE, max_steps: int = MAX_STEPS) -> Page:
    """One page of the entries that match every filter, newest first: those older than the
    key ``before``, or (``after``) the oldest ones newer than the key ``after``."""
    sources = _sources(log, filters)
    before = None if before is None else min(max(before, 0), LAST_KEY)  # what a URL may say
    after = None if after is None else min(max(after, 0), LAST_KEY - 1)
    if not sources:
        return Page([], None, None)
    if after is not None:
        keys, resume, cut = _matching(sources, after + 1, False, size, max_steps)
        keys.reverse()
        newer = resume - 1 if resume is not None else None
        older = keys[-1] if keys else after + 1
    else:
        start = LAST_KEY if before is None else before - 1
        keys, resume, cut = _matching(sources, start, True, size, max_steps)
        newer = keys[0] if keys and before is not None else None
        older = resume + 1 if resume is not None else None
    searched = resume / TICKS / 1_000_000 if cut and resume is not None else None
    return Page([(k, log.entries[k]) for k in keys], newer, older, searched)


def _sources(log: AuditLog | None, filters: dict[str, str]) -> list:
    """The key sets a page walks: each filter's, or all entries without a filter; [] when a
    filter matches nothing."""
    if log is None:
        return []
    wanted = [(f, _index_value(f, v)) for f, v in filters.items() if v and f in FILTERS]
    sources = [log.indexes.get(key) for key in wanted]
    if any(s is None for s in sources):
        return []
    return sources or [log.entries]


def _index_value(field: str, value: str) -> str:
    value = value.strip()[:MAX_FILTER]
    return names.normalize(value) if field == "project" else value


def _matching(sources: list, start: int, down: bool, size: int,
              max_steps: int) -> tuple[list[int], int | None, bool]:
    """Up to ``size`` keys in every source from ``start`` on (downwards or up), the key to go
    on from when there may be more (None: there are none), and whether ``max_steps`` cut the
    walk short. Leapfrogs: each source skips to its next key at or past the others'."""
    found: list[int] = []
    candidate, steps = start, 0
    while candidate >= 0:
        for source in sources:
            if steps >= max_steps:
                return found, candidate, True
            steps += 1
            try:
                key = source.maxKey(candidate) if down else source.minKey(candidate)
            except ValueError:  # nothing left in this source
                return found, None, False
            if key != candidate:
                candidate = key
                break
        else:
            if len(found) == size:
                return found, candidate, False
            found.append(candidate)
            candidate += -1 if down else 1
    return found, None, False
