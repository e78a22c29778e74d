"""Keeping a mirrored project's records and its upstream listing in step.

A ``ReleaseFile`` (and its ``Release``) is created only when bytes of a mirrored file are
stored here (the file, or its core metadata): ``record_for``. A new upstream answer replaces
the listing whole: ``replace_listing``, which also brings the records along.

Databases written before the listing existed hold a record for every mirrored file; they
serve as they are and are migrated lazily, project by project, at the project's next
upstream look-up: ``replace_listing`` drops the records that hold no bytes.
"""
from __future__ import annotations

import datetime

from shop.model.folders import utcnow
from shop.model.listings import Entry, UpstreamListing
from shop.model.tree import Package, Release, ReleaseFile


def record_for(package: Package, release_key: str, filename: str) -> ReleaseFile | None:
    """The record of a file, created from its listing entry if it has none yet (to store its
    bytes); None when neither a record nor the listing has it. The pages do not change."""
    release = package.get(release_key)
    if release is not None and filename in release:
        return release.get(filename)
    entry = package.listing.entry(release_key, filename) if package.listing is not None else None
    if entry is None:
        return None
    if release is None:
        release = package.add(release_key, Release(entry.version), quiet=True)
    record = ReleaseFile(entry.filename, packagetype=entry.packagetype, size=entry.size,
                         sha256=entry.sha256, requires_python=entry.requires_python,
                         core_metadata_sha256=entry.metadata_sha256)
    record.origin, record.upstream_url = "mirror", entry.url
    record.upload_time = entry.upload_time  # unknown (None) stays unknown: never invented
    if entry.provenance_url is not None:  # fetched with the file (shop.mirror.provenance)
        record.upstream_provenance_url = entry.provenance_url
    if entry.yanked:
        record.yanked, record.yanked_reason = True, entry.yanked_reason
    return release.add(filename, record, quiet=True)


def replace_listing(package: Package, entries: tuple[tuple, ...], etag: str | None,
                    last_modified: str | None, token: str, status: str | None = None,
                    status_reason: str = "") -> bool:
    """Make ``entries`` (sorted: ``UpstreamListing.entries``) and upstream's PEP 792 status
    the project's listing; True if what its pages show changed.

    Records of mirrored files follow their entries (yanks, requires-python, URLs; hashes and
    sizes while their bytes are not stored); records holding no bytes, and upstream no longer
    lists, go; those of a database written before listings existed go too (the listing has
    them now). Records with stored bytes stay: those upstream no longer lists are marked
    ``removed_upstream`` (when first found gone), and unmarked when listed again.
    """
    old = package.listing
    changed = old is None or old.entries != entries or \
        (old.status, old.status_reason) != (status, status_reason)
    if old is None:
        package.listing = UpstreamListing(entries, etag, last_modified, token, status,
                                          status_reason)
    else:
        old.entries, old.etag, old.last_modified, old.token = entries, etag, last_modified, token
        old.status, old.status_reason = status, status_reason
        old.__dict__.pop("_v_index", None)
    index, now = package.listing.by_release(), utcnow()
    for release_key, release in list(package.items()):
        for filename, record in list(release.items()):
            if record.origin != "mirror":
                continue
            entry = index.get(release_key, {}).get(filename)
            if record.blob is None and record.core_metadata is None:
                release.remove(filename, quiet=entry is not None)
                changed |= entry is None
            else:
                changed |= _mark_removed(record, entry is None, now)
                changed |= entry is not None and _follow(record, entry)
        if not len(release):
            package.remove(release_key, quiet=True)
    return changed


def _mark_removed(record: ReleaseFile, removed: bool, now: datetime.datetime) -> bool:
    """Mark a record whose entry upstream no longer lists (once: the first time it was found
    gone stays), or unmark one listed again; True if it changed."""
    if removed == (record.removed_upstream is not None):
        return False
    if removed:
        record.removed_upstream = now
    else:
        del record.removed_upstream  # the class default (None): listed
    return True


def _follow(record: ReleaseFile, entry: Entry) -> bool:
    """Bring a mirrored file's record up to date with its entry; True if anything changed."""
    wanted = {
        "yanked": entry.yanked,
        "yanked_reason": entry.yanked_reason if entry.yanked else "",
        "requires_python": entry.requires_python,
        "upstream_url": entry.url,
        "upstream_provenance_url": entry.provenance_url,
    }
    if record.core_metadata is None:
        wanted["core_metadata_sha256"] = entry.metadata_sha256
    if record.blob is None:
        wanted["sha256"], wanted["size"] = entry.sha256, entry.size
    if record.upload_time is None and entry.upload_time is not None:
        wanted["upload_time"] = entry.upload_time  # upstream says now what it did not
    changes = {k: v for k, v in wanted.items() if getattr(record, k) != v}
    for attribute, value in changes.items():
        setattr(record, attribute, value)
    return bool(changes)


def unchanged(package: Package | None, entries: tuple[tuple, ...], status: str | None = None,
              status_reason: str = "") -> bool:
    """Whether ``entries`` (sorted) and the status are what the project's listing says
    already, and no record waits to be migrated or marked: nothing to write."""
    listing = package.listing if package is not None else None
    return listing is not None and listing.entries == entries and \
        (listing.status, listing.status_reason) == (status, status_reason) and \
        not _stale_records(package)


def _stale_records(package: Package) -> bool:
    """Whether the project still holds a record of a mirrored file without bytes (as the
    model before listings wrote them), or one whose ``removed_upstream`` disagrees with the
    listing: its next listing migrates or marks them. (A view of an answer not stored yet
    has none: the writer brings its records along.)"""
    if package.pending_token is not None:
        return False
    index = package.listing.by_release()
    for record in package.records():
        if record.origin != "mirror":
            continue
        if record.blob is None and record.core_metadata is None:
            return True
        listed = record.filename in index.get(record.__parent__.__name__, {})
        if listed == (record.removed_upstream is not None):
            return True
    return False


def forget(file: ReleaseFile) -> None:
    """Drop a mirrored file's stored bytes (``ReleaseFile.forget``) and, when the listing
    has its entry and no core metadata of it is stored, its record too: listed only again.
    A file removed upstream loses its record (and core metadata) whole: its bytes cannot be
    fetched again, and its pages change when its repository kept serving it."""
    file.forget()
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    listing = package.listing if package is not None else None
    listed = listing is not None and listing.entry(release.__name__, file.filename) is not None
    if file.removed_upstream is not None and not listed:
        release.remove(file.__name__)
    elif file.core_metadata is None and listed:
        release.remove(file.__name__, quiet=True)
    else:
        return
    if not len(release):
        package.remove(release.__name__, quiet=True)
