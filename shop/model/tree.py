"""The persistent tree below the root (``shop.model.root``): Repository -> Package -> Release -> file."""
from __future__ import annotations

import datetime
from typing import Iterator

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, DENY_ALL, Allow, Everyone
from ZODB.blob import Blob
from zope.interface import implementer

from shop.model import names
from shop.model.folders import Folder, utcnow
from shop.model.listings import Entry, UpstreamListing
from shop.model.transient import CoreMetadata, IProject, UpstreamProject, VersionSpelling
from shop.model.permissions import (
    ADMIN_PRINCIPAL,
    NETWORK_PRINCIPAL,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    user_principal,
)

class TreeFolder(Folder):
    """A folder of the package tree (repository, project, release): the files with stored
    bytes that come and go with its children are counted in its repository."""

    def moved(self, obj, sign: int) -> None:
        _count_stored(self, obj, sign)


class Repository(TreeFolder):
    """A package index: hosted projects, and (optionally) an upstream index it mirrors."""

    # Retention (shop.operations.retention), on the class so that older databases load: the
    # pre-/dev-releases kept per hosted project, the mirrored bytes kept; None: no limit.
    keep_dev_releases: int | None = None
    mirror_cache_size: int | None = None
    # Its webhooks (``shop.model.webhooks.Hooks``), made with the first one.
    webhooks = None
    # Supply-chain rules (``shop.model.offers.Rules``): the cooldown (a minimum age, a fixed
    # date, the projects and versions exempt), whether files removed upstream are still
    # served ("follow": no; "keep": yes), and whether new upstream projects wait for an
    # admin's approval (``pending_projects``: name -> ``shop.model.approval.Request``).
    min_age: datetime.timedelta | None = None
    exclude_newer: datetime.datetime | None = None
    cooldown_exempt: tuple[str, ...] = ()
    upstream_deletions = "follow"
    approve_new_projects = False
    pending_projects = pending_count = None  # (and a Length counting them)

    def __init__(self, title: str = "", upstream: str | None = None) -> None:
        super().__init__()
        self.title = title
        self.upstream = upstream
        self.mirror_mode = "stream"
        self.offline = False
        self.merge_allowed = OOTreeSet()
        # Bumped on every change to the project list; keys the per-process root page cache.
        self.serial = Length()
        # Access: anonymous reads, networks (CIDR) that read without credentials, and
        # roles (reader, uploader, owner) by principal ("user:NAME", "group:NAME").
        self.anonymous_read = False
        self.read_networks: tuple[str, ...] = ()
        self.roles = OOBTree()
        # Files whose bytes are stored here, and their bytes: kept up to date on every change
        # (as Lengths: concurrent uploads merge) rather than counted by walking every file.
        self.stored_files = Length()
        self.stored_bytes = Length()

    @property
    def __acl__(self) -> list:
        acl = [(Allow, ADMIN_PRINCIPAL, ALL_PERMISSIONS)]
        for principal, role in self.roles.items():
            acl += [(Allow, principal, p) for p in ROLE_PERMISSIONS[Role(role)]]
        if self.anonymous_read:
            acl.append((Allow, Everyone, Permission.VIEW))
        if self.read_networks:
            acl.append((Allow, NETWORK_PRINCIPAL, Permission.VIEW))
        acl.append(DENY_ALL)
        return acl

    canonical = staticmethod(names.normalize)

    def check_key(self, key: str, obj) -> str:
        return names.valid_name(super().check_key(key, obj))  # a project name, within the limit

    def __getitem__(self, key: str):
        """A stored project, or (when the upstream may know it) a transient one to look up."""
        try:
            return self._items[key]
        except KeyError:
            if self.mirrors(None) and names.is_valid_name(key) and names.normalize(key) == key:
                return UpstreamProject(key, self)
            raise

    def mirrors(self, package: "Package | None") -> bool:
        """Whether requests for this project (None: one not stored here) consult the upstream."""
        if not self.upstream or self.offline:
            return False
        if package is not None and package.hosted:
            return package.__name__ in self.merge_allowed
        return True

    def changed(self) -> None:
        self.serial.change(1)

    def count_stored(self, files: int, size: int) -> None:
        """Add files with stored bytes, and their bytes (negative for removed ones)."""
        self.stored_files.change(files)
        self.stored_bytes.change(size)


@implementer(IProject)
class Package(TreeFolder):
    """A project in one repository: releases by canonical version."""

    # How many upstream files the project hides (hosted, not allowed to merge), counted when it
    # began to hide them (its first upload, or leaving the merge allow-list); None: not counted
    # (projects hosted before the count was kept), and then counted when asked.
    hidden_upstream: int | None = None
    # Its PEP 792 status (hosted projects; a mirrored one's is upstream's, in its listing).
    status = "active"
    status_reason = ""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # the spelling it was first uploaded (or mirrored) with
        self.created = utcnow()
        self.hosted = False
        # Counts changes to what the project's pages show; keys the per-process page cache.
        # A Length, so that concurrent uploads to one project merge instead of conflicting.
        self.serial = Length()
        self.owners = OOTreeSet()  # user names; the first uploader, then whoever they add

    @property
    def __acl__(self) -> list:
        # Owners release and manage the project; everything else comes from the repository.
        return [
            (Allow, user_principal(name), permission)
            for name in self.owners
            for permission in (Permission.RELEASE, Permission.MANAGE)
        ]

    # What the upstream index last said of a mirrored project (``shop.model.listings``): its
    # files and the validators for conditional GETs. Files with stored bytes have records too.
    listing: UpstreamListing | None = None
    # Set only on a transient package showing upstream's answer before it is stored
    # (``shop.mirror.lookup.pending_view``): its pages are kept with it, not by oid.
    pending_token: str | None = None
    # The validators as databases written before listings kept them (``shop.model.mirrored``).
    upstream_etag: str | None = None
    upstream_last_modified: str | None = None

    canonical = staticmethod(names.version_key)

    def __getitem__(self, key: str):
        """A release by canonical version (stored, or only listed upstream), or another
        spelling of one (``1.0`` for ``1``)."""
        release = self.release(key)
        if release is not None:
            return release
        try:
            canonical = names.version_key(key)
        except names.InvalidName:
            raise KeyError(key) from None
        release = self.release(canonical) if canonical != key else None
        if release is None:
            raise KeyError(key)
        return VersionSpelling(key, release)

    def release(self, key: str) -> "Release | None":
        """The release of canonical version ``key``: stored, or a ``ListedRelease``."""
        release = self._items.get(key)
        if release is None and self.listing is not None and key in self.listing.by_release():
            release = ListedRelease(self, key)
        return release

    def changed(self) -> None:
        """Mark the package changed: its pages are rendered anew, in every process."""
        self.serial.change(1)

    def version_keys(self) -> list[str]:
        """Releases' keys (canonical versions, stored or listed), newest first by PEP 440:
        no release is loaded."""
        keys = set(self.keys())
        if self.listing is not None:
            keys.update(self.listing.by_release())
        return sorted(keys, key=names.sort_key, reverse=True)

    def releases(self) -> list["Release"]:
        """Releases, stored or listed, newest first by PEP 440 (unloaded until looked at)."""
        return [self.release(key) for key in self.version_keys()]

    def records(self) -> Iterator["ReleaseFile"]:
        """The files with records here: uploads, and mirrored files with stored bytes."""
        for release in self.values():
            yield from release.values()

    def files(self) -> list["ReleaseFile"]:
        """Every file: its record, or (listed upstream, nothing stored) a ``ListedFile``."""
        files = list(self.records())
        releases: dict[str, Release] = {}
        for entry in self.listing.entries if self.listing is not None else ():
            release = releases.get(entry[2])
            if release is None:
                release = releases[entry[2]] = self.release(entry[2])
            if entry[0] not in release:  # a record stands for its entry
                files.append(ListedFile(Entry(*entry), release))
        return files


class Release(TreeFolder):
    """One version of a project: its metadata (from the first file) and its files."""

    def __init__(self, version: str, metadata: dict | None = None) -> None:
        super().__init__()
        self.version = version
        self.metadata = dict(metadata or {})
        self.created = utcnow()

    def check_key(self, key: str, obj) -> str:
        return names.check_filename(super().check_key(key, obj))

    def __getitem__(self, key: str):
        """A file (stored, or listed upstream), or the core metadata file beside a wheel
        (``<filename>.metadata``)."""
        file = self.file(key)
        if file is not None:
            return file
        file = self.file(key[: -len(".metadata")]) if key.endswith(".metadata") else None
        if file is None or not file.core_metadata_sha256:
            raise KeyError(key)
        return CoreMetadata(file)

    def file(self, filename: str) -> "ReleaseFile | None":
        """The file ``filename``: its record, or a ``ListedFile`` for one only listed."""
        file = self._items.get(filename)
        if file is None:
            listing = self.__parent__.listing if self.__parent__ is not None else None
            entry = listing.entry(self.__name__, filename) if listing is not None else None
            file = ListedFile(entry, self) if entry is not None else None
        return file

    def files(self) -> list["ReleaseFile"]:
        """The release's files: records, and the listed ones that have none."""
        files = list(self.values())
        listing = self.__parent__.listing if self.__parent__ is not None else None
        listed = listing.by_release().get(self.__name__, {}) if listing is not None else {}
        files += [ListedFile(entry, self) for name, entry in listed.items() if name not in self]
        return files

    def changed(self) -> None:
        if self.__parent__ is not None:
            self.__parent__.changed()

    @property
    def yanked(self) -> bool:
        files = self.files()
        return bool(files) and all(f.yanked for f in files)


class ListedRelease(Release):
    """A release upstream lists, no file of which is stored here: transient, no records."""

    _items: dict = {}  # nothing stored below it (a stored file's record starts a Release)

    def __init__(self, package: Package, key: str) -> None:
        self.__name__, self.__parent__ = key, package
        entries = package.listing.by_release()[key].values()
        self.version, self.metadata = next(iter(entries)).version, {}
        times = [e.upload_time for e in entries if e.upload_time is not None]
        self.created = min(times) if times else None

    def __len__(self) -> int:
        return 0


class ReleaseFile(Persistent):
    """A distribution file: its bytes in a blob and what an index says about it."""

    __name__: str | None = None
    __parent__: Release | None = None
    origin = "upload"  # or "mirror": known from an upstream index, bytes fetched on first use
    upstream_url: str | None = None
    # Defaults live on the class: a file stores only what it knows (a mirrored file knows
    # little until it is fetched; big projects have thousands, written in one commit).
    md5: str | None = None
    blake2_256: str | None = None
    uploader: str | None = None
    requires_python: str | None = None
    python_version: str | None = None
    blob: Blob | None = None
    core_metadata: Blob | None = None
    core_metadata_sha256: str | None = None
    core_metadata_size: int | None = None
    yanked = False
    yanked_reason = ""
    # When a re-check of upstream found this mirrored file gone from its listing (None:
    # listed); it is not served then, unless its repository keeps upstream's deletions.
    removed_upstream: datetime.datetime | None = None
    # When a client last downloaded a mirrored file, as far as retention knows (recorded in
    # batches, not per download): the least recently downloaded are evicted first.
    last_downloaded: datetime.datetime | None = None
    stored = True  # a record in the tree (a ``ListedFile`` is not)

    def __init__(
        self,
        filename: str,
        *,
        packagetype: str,
        size: int,
        sha256: str,
        md5: str | None = None,
        blake2_256: str | None = None,
        uploader: str | None = None,
        upload_time: datetime.datetime | None = None,
        requires_python: str | None = None,
        python_version: str | None = None,
        blob: Blob | None = None,
        core_metadata: Blob | None = None,
        core_metadata_sha256: str | None = None,
        core_metadata_size: int | None = None,
    ) -> None:
        self.filename = filename
        self.packagetype = packagetype
        self.size = size
        self.sha256 = sha256
        self.upload_time = upload_time or utcnow()
        optional = {
            "md5": md5, "blake2_256": blake2_256, "uploader": uploader,
            "requires_python": requires_python, "python_version": python_version, "blob": blob,
            "core_metadata": core_metadata, "core_metadata_sha256": core_metadata_sha256,
            "core_metadata_size": core_metadata_size,
        }
        for name, value in optional.items():
            if value is not None:
                setattr(self, name, value)

    def store(self, blob: Blob, sha256: str, size: int) -> None:
        """Keep the verified bytes of a file known until now only from upstream's listing."""
        if self.blob is not None:
            raise ValueError(f"{self.filename} is stored already")
        self.blob, self.sha256, self.size = blob, sha256, size
        _count_stored(self.__parent__, self, 1)

    def forget(self) -> None:
        """Drop the stored bytes of a mirrored file: it looks as before its first download
        again (listed, fetched from upstream on demand); hosted files cannot be forgotten."""
        if self.origin != "mirror":
            raise ValueError(f"{self.filename} is hosted here: its bytes cannot be fetched again")
        if self.blob is None:
            return
        _count_stored(self.__parent__, self, -1)
        del self.blob  # the class default (None), as for a file never fetched

    def set_yanked(self, yanked: bool, reason: str = "") -> None:
        self.yanked = yanked
        self.yanked_reason = reason if yanked else ""
        if self.__parent__ is not None:
            self.__parent__.changed()


class ListedFile(ReleaseFile):
    """A file upstream lists whose bytes are not stored here: transient, made from its
    entry in the project's listing (``shop.model.mirrored.record_for`` makes its record)."""

    origin = "mirror"
    stored = False

    def __init__(self, entry: Entry, release: Release) -> None:
        self.__name__, self.__parent__ = entry.filename, release
        self.filename, self.upstream_url = entry.filename, entry.url
        self.packagetype, self.sha256, self.size = entry.packagetype, entry.sha256, entry.size
        self.upload_time, self.requires_python = entry.upload_time, entry.requires_python
        self.core_metadata_sha256 = entry.metadata_sha256
        if entry.yanked:
            self.yanked, self.yanked_reason = True, entry.yanked_reason


def stored_in(obj) -> tuple[int, int]:
    """How many files with stored bytes ``obj`` (a file, release or package) holds, and their bytes."""
    if isinstance(obj, ReleaseFile):
        return (1, obj.size or 0) if obj.blob is not None else (0, 0)
    files = size = 0
    for child in obj.values():
        f, s = stored_in(child)
        files, size = files + f, size + s
    return files, size


def repository_of(context) -> Repository | None:
    """The repository a resource belongs to, if any."""
    while context is not None:
        if isinstance(context, Repository):
            return context
        context = getattr(context, "__parent__", None)
    return None


def _count_stored(container, obj, sign: int) -> None:
    """Count the stored files of ``obj``, just added to (or removed from) ``container``, in
    its repository; nothing while the container is not in one yet."""
    repository = repository_of(container)
    if repository is not None:
        files, size = stored_in(obj)
        if files:
            repository.count_stored(sign * files, sign * size)
