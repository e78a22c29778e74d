"""Keeping a mirrored project's records and its upstream listing in step.

A ``ReleaseFile`` (and its ``Release``) is created only when bytes of a mirrored file are
stored here (the file, or its core metadata): ``record_for``. A new upstream answer replaces
the listing whole: ``replace_listing``, which also brings the records along.

Databases written before the listing existed hold a record for every mirrored file; they
serve as they are and are migrated lazily, project by project, at the project's next
upstream look-up: ``replace_listing`` drops the records that hold no bytes.
"""
from __future__ import annotations

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
                    last_modified: str | None, token: str) -> bool:
    """Make ``entries`` (sorted: ``UpstreamListing.entries``) the project's listing; True
    if what its pages show changed.

    Records of mirrored files follow their entries (yanks, requires-python, URLs; hashes and
    sizes while their bytes are not stored); records holding no bytes, and upstream no longer
    lists, go; those of a database written before listings existed go too (the listing has
    them now). Records with stored bytes stay, listed or not.
    """
    old = package.listing
    changed = old is None or old.entries != entries
    if old is None:
        package.listing = UpstreamListing(entries, etag, last_modified, token)
    else:
        old.entries, old.etag, old.last_modified, old.token = entries, etag, last_modified, token
        old.__dict__.pop("_v_index", None)
    index = package.listing.by_release()
    for release_key, release in list(package.items()):
        for filename, record in list(release.items()):
            if record.origin != "mirror":
                continue
            entry = index.get(release_key, {}).get(filename)
            if record.blob is None and record.core_metadata is None:
                release.remove(filename, quiet=entry is not None)
                changed |= entry is None
            elif entry is not None:
                changed |= _follow(record, entry)
        if not len(release):
            package.remove(release_key, quiet=True)
    return changed


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
    changes = {k: v for k, v in wanted.items() if getattr(record, k) != v}
    for attribute, value in changes.items():
        setattr(record, attribute, value)
    return bool(changes)


def unchanged(package: Package | None, entries: tuple[tuple, ...]) -> bool:
    """Whether ``entries`` (sorted) are what the project's listing says already, and no
    record waits to be migrated: nothing to write."""
    return package is not None and package.listing is not None and \
        package.listing.entries == entries and not _old_records(package)


def _old_records(package: Package) -> bool:
    """Whether the project still holds a record of a mirrored file without bytes (as the
    model before listings wrote them): its next listing migrates them."""
    return any(r.origin == "mirror" and r.blob is None and r.core_metadata is None
               for r in package.records())


def forget(file: ReleaseFile) -> None:
    """Drop a mirrored file's stored bytes (``ReleaseFile.forget``) and, when the listing
    has its entry and no core metadata of it is stored, its record too: listed only again."""
    file.forget()
    release = file.__parent__
    package = release.__parent__ if release is not None else None
    listing = package.listing if package is not None else None
    if file.core_metadata is None and listing is not None and \
            listing.entry(release.__name__, file.filename) is not None:
        release.remove(file.__name__, quiet=True)
        if not len(release):
            package.remove(release.__name__, quiet=True)
