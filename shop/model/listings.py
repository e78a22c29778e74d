"""What upstream lists of a mirrored project, kept as one record of compact tuples.

A mirrored project's upstream listing (filenames, URLs, hashes, sizes, upload times,
requires-python, yanks, core-metadata hashes) is one ``UpstreamListing``, replaced whole when
upstream changes it: a project of 15,000 files is one record, not 15,000 (``shop.model.tree``
serves its files through transient stand-ins; ``shop.model.mirrored`` keeps it up to date).
"""
from __future__ import annotations

import datetime
import itertools
import os
from typing import Iterable, NamedTuple

from persistent import Persistent

from shop.model import names


class Entry(NamedTuple):
    """One file of upstream's listing (a plain tuple when stored: compact to pickle)."""

    filename: str
    url: str
    release_key: str  # the canonical version: the key of its release in the tree
    version: str  # as upstream spells it
    packagetype: str
    sha256: str | None
    size: int | None
    upload_time: datetime.datetime | None
    requires_python: str | None
    yanked: bool
    yanked_reason: str
    metadata_sha256: str | None
    # Upstream's provenance (PEP 740); last, with a default: stored 12-tuples load as before.
    provenance_url: str | None = None


_tokens = itertools.count()
_PROCESS = f"{os.getpid()}-{os.urandom(4).hex()}"


def new_token() -> str:
    """A token naming one upstream answer, unique across the processes of a database."""
    return f"{_PROCESS}-{next(_tokens)}"


class UpstreamListing(Persistent):
    """What upstream last said about a project: its files, in page order, as one record."""

    # Upstream's PEP 792 status of the project (None: upstream said none) and its reason.
    status: str | None = None
    status_reason = ""

    def __init__(self, entries: tuple[tuple, ...], etag: str | None = None,
                 last_modified: str | None = None, token: str = "", status: str | None = None,
                 status_reason: str = "") -> None:
        self.entries = entries  # sorted: ``sort_entries``
        self.etag, self.last_modified, self.token = etag, last_modified, token
        if status is not None or status_reason:  # else the class defaults: nothing stored
            self.status, self.status_reason = status, status_reason

    def by_release(self) -> dict[str, dict[str, Entry]]:
        """Entries by release key, then filename (built once per loaded copy)."""
        index = getattr(self, "_v_index", None)
        if index is None:
            index = {}
            for entry in self.entries:
                index.setdefault(entry[2], {})[entry[0]] = Entry(*entry)
            self._v_index = index
        return index

    def entry(self, release_key: str, filename: str) -> Entry | None:
        return self.by_release().get(release_key, {}).get(filename)


def sort_entries(entries: Iterable[tuple]) -> tuple[tuple, ...]:
    """Entries as plain tuples, by version (PEP 440) then filename: the pages' order."""
    return tuple(sorted((tuple(e) for e in entries),
                        key=lambda e: (names.sort_key(e[3]), e[0])))
