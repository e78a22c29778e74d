"""What an import directory says about its files beyond their bytes: the manifest of
``localshop export`` (uploader, upload time, yank, provenance; owners and PEP 792 status of
the projects), or devpi's ``dataindex.json``
(``devpi-export``: which files are releases, their sha256, upload times, uploaders).

Both are read whole into memory, so both are bounded (``MAX_CATALOG``). Every path either
names must stay inside the directory; one that does not refuses the whole catalog, before
anything is imported.

The manifest's ``version`` says what a reader must understand to import it whole: a reader
refuses a version it does not know, rather than drop what it cannot read (a quarantined
project coming back active). Version 2 added each project's status and each file's
provenance (``<path>.provenance`` beside it); a version 1 manifest has neither, and imports.
"""
from __future__ import annotations

import datetime
import email.utils
import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from shop.model import names
from shop.model.offers import STATUSES

MANIFEST = "localshop-export.json"  # written by ``localshop export``
DATAINDEX = "dataindex.json"  # written by ``devpi-export``
MANIFEST_FORMAT = "localshop-export"
MANIFEST_VERSION = 2  # what ``localshop export`` writes
MANIFEST_VERSIONS = (1, 2)  # what ``localshop import`` reads
PROVENANCE_SUFFIX = ".provenance"  # a file's provenance object, beside it in an export
# A manifest of 100,000 files is about 30 MB; devpi's also holds every release's metadata
# (READMEs). Beyond this it is refused, not read.
MAX_CATALOG = 128 * 1024 * 1024
SHA256_LENGTH = 64


class CatalogError(ValueError):
    """A manifest or dataindex.json that cannot be used; the message says why."""


@dataclass(frozen=True)
class Recorded:
    """What a catalog recorded of one file; None: not recorded (the import's own values)."""

    sha256: str | None = None
    upload_time: datetime.datetime | None = None
    uploader: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    provenance_sha256: str | None = None  # its provenance object at ``<path>.provenance``
    provenance_size: int | None = None


@dataclass
class Catalog:
    """A directory's files as its catalog lists them, by path relative to it (``a/b.whl``)."""

    kind: str  # "files" (none), "localshop export", "devpi export"
    files: dict[str, Recorded] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)  # by normalized project
    names: dict[str, str] = field(default_factory=dict)  # display names, by normalized project
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)  # (status, reason), ditto
    ignored: set[str] = field(default_factory=set)  # listed, and no distribution (devpi docs)


def read_catalog(directory: Path) -> Catalog:
    """The catalog of ``directory``: its export manifest, devpi's dataindex.json, or none."""
    for name, parse in ((MANIFEST, parse_manifest), (DATAINDEX, parse_dataindex)):
        path = directory / name
        if path.is_file():
            return parse(load_json(path), directory)
    return Catalog("files")


def load_json(path: Path) -> object:
    """The JSON document at ``path``, refused past MAX_CATALOG bytes or when it is no JSON."""
    size = path.stat().st_size
    if size > MAX_CATALOG:
        raise CatalogError(f"{path} is too large: {size} bytes, more than the {MAX_CATALOG}"
                           " this import reads.")
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(MAX_CATALOG + 1))
    except (ValueError, UnicodeDecodeError) as e:
        raise CatalogError(f"{path} is not valid JSON: {e}") from None


def _expect(value, kind, where: str, path: Path):
    if not isinstance(value, kind):
        raise CatalogError(f"{path.name}: {where} is not {_KINDS.get(kind, kind)}.")
    return value


_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "true or false",
          int: "a whole number"}


def inside(directory: Path, relpath: object, where: str, source: str) -> str:
    """``relpath`` as a catalog key, once it is a relative path to a distribution filename that
    stays inside ``directory`` (symbolic links resolved); CatalogError otherwise."""
    if not isinstance(relpath, str) or not relpath:
        raise CatalogError(f"{source}: {where} is not a path.")
    normal = posixpath.normpath(relpath)
    if (relpath.startswith("/") or "\\" in relpath or "\x00" in relpath
            or normal == ".." or normal.startswith("../")):
        raise CatalogError(f"{source}: {where} {relpath[:300]!r} is outside {directory}: refused.")
    try:
        names.check_filename(posixpath.basename(normal))
    except names.InvalidName as e:
        raise CatalogError(f"{source}: {where}: {e}") from None
    root = os.path.realpath(directory)
    if os.path.commonpath([root, os.path.realpath(os.path.join(root, normal))]) != root:
        raise CatalogError(f"{source}: {where} {relpath[:300]!r} leads outside {directory}"
                           " (a symbolic link): refused.")
    return normal


def _sha256(value, where: str, path: Path) -> str | None:
    if value is None:
        return None
    value = _expect(value, str, where, path).lower()
    if len(value) != SHA256_LENGTH or any(c not in "0123456789abcdef" for c in value):
        raise CatalogError(f"{path.name}: {where} is not a sha256 (64 hex digits).")
    return value


def _short(value, where: str, path: Path, limit: int = 500) -> str:
    value = _expect(value, str, where, path)
    if len(value) > limit:
        raise CatalogError(f"{path.name}: {where} is longer than {limit} characters.")
    return value


# --- localshop export ----------------------------------------------------------------------

def parse_manifest(document: object, directory: Path) -> Catalog:
    """The manifest ``localshop export`` wrote (``shop.operations.exporting``)."""
    path = directory / MANIFEST
    document = _expect(document, dict, "the manifest", path)
    if document.get("format") != MANIFEST_FORMAT or document.get("version") not in MANIFEST_VERSIONS:
        raise CatalogError(f"{MANIFEST}: not a localshop export manifest of version"
                           f" {' or '.join(map(str, MANIFEST_VERSIONS))} (format"
                           f" {document.get('format')!r}, version {document.get('version')!r}):"
                           " import it with the localshop that exported it, or a later one.")
    catalog = Catalog("localshop export")
    projects = _expect(document.get("projects"), list, "projects", path)
    for i, project in enumerate(projects):
        project = _expect(project, dict, f"projects[{i}]", path)
        _manifest_project(catalog, project, f"projects[{i}]", directory)
    return catalog


def _manifest_project(catalog: Catalog, project: dict, where: str, directory: Path) -> None:
    """One project of the manifest into ``catalog``: its name, owners, status, files."""
    path = directory / MANIFEST
    name = _short(project.get("name"), f"{where}.name", path, names.MAX_NAME_LENGTH)
    if not names.is_valid_name(name):
        raise CatalogError(f"{MANIFEST}: {where}.name {name!r} is no project name.")
    key = names.normalize(name)
    catalog.names[key] = name
    owners = _expect(project.get("owners", []), list, f"{where}.owners", path)
    catalog.owners[key] = [_short(o, f"{where}.owners", path, names.MAX_NAME_LENGTH)
                           for o in owners]
    status = _expect(project.get("status", "active"), str, f"{where}.status", path)
    if status not in STATUSES:
        raise CatalogError(f"{MANIFEST}: {where}.status {status[:50]!r} is none of"
                           f" {', '.join(STATUSES)}.")
    catalog.statuses[key] = (status, _short(project.get("status_reason", ""),
                                            f"{where}.status_reason", path))
    for j, entry in enumerate(_expect(project.get("files"), list, f"{where}.files", path)):
        entry = _expect(entry, dict, f"{where}.files[{j}]", path)
        relpath = inside(directory, entry.get("path"), f"{where}.files[{j}].path", MANIFEST)
        catalog.files[relpath] = _manifest_entry(entry, f"{where}.files[{j}]", path)


def _manifest_entry(entry: dict, where: str, path: Path) -> Recorded:
    uploader = entry.get("uploader")
    return Recorded(
        sha256=_sha256(entry.get("sha256"), f"{where}.sha256", path),
        upload_time=_iso_time(entry.get("upload_time"), f"{where}.upload_time", path),
        uploader=None if uploader is None else _short(uploader, f"{where}.uploader", path,
                                                      names.MAX_NAME_LENGTH),
        yanked=_expect(entry.get("yanked", False), bool, f"{where}.yanked", path),
        yanked_reason=_short(entry.get("yanked_reason", ""), f"{where}.yanked_reason", path),
        provenance_sha256=_sha256(entry.get("provenance_sha256"), f"{where}.provenance_sha256",
                                  path),
        provenance_size=_size(entry.get("provenance_size"), f"{where}.provenance_size", path),
    )


def _size(value, where: str, path: Path) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or _expect(value, int, where, path) < 0:
        raise CatalogError(f"{path.name}: {where} is not a size (a whole number of bytes).")
    return value


def _iso_time(value, where: str, path: Path) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        time = datetime.datetime.fromisoformat(_short(value, where, path, 64))
    except ValueError:
        raise CatalogError(f"{path.name}: {where} {value!r} is not an ISO 8601 time.") from None
    return time if time.tzinfo else time.replace(tzinfo=datetime.timezone.utc)


def iso_time(time: datetime.datetime) -> str:
    """A time as the manifest writes it: UTC, ISO 8601 (``2026-12-01T14:30:00.123456+00:00``)."""
    return time.astimezone(datetime.timezone.utc).isoformat()


# --- devpi export --------------------------------------------------------------------------

def parse_dataindex(document: object, directory: Path) -> Catalog:
    """devpi-export's ``dataindex.json``: every index's release files (others ignored)."""
    path = directory / DATAINDEX
    document = _expect(document, dict, "the document", path)
    catalog = Catalog("devpi export")
    indexes = _expect(document.get("indexes"), dict, "indexes", path)
    for stage, index in indexes.items():
        index = _expect(index, dict, f"indexes[{stage!r}]", path)
        for i, entry in enumerate(_expect(index.get("files", []), list,
                                          f"indexes[{stage!r}].files", path)):
            where = f"indexes[{stage!r}].files[{i}]"
            entry = _expect(entry, dict, where, path)
            relpath = entry.get("relpath")
            if entry.get("type") != "releasefile":  # documentation zips, tox results
                if isinstance(relpath, str):
                    catalog.ignored.add(posixpath.normpath(relpath))
                continue
            relpath = inside(directory, relpath, f"{where}.relpath", DATAINDEX)
            catalog.files[relpath] = _devpi_entry(entry, where, path)
    return catalog


def _devpi_entry(entry: dict, where: str, path: Path) -> Recorded:
    mapping = _expect(entry.get("entrymapping", {}), dict, f"{where}.entrymapping", path)
    hashes = _expect(mapping.get("hashes", {}), dict, f"{where}.entrymapping.hashes", path)
    sha256 = hashes.get("sha256")
    spec = mapping.get("hash_spec")
    if sha256 is None and isinstance(spec, str) and spec.startswith("sha256="):
        sha256 = spec[len("sha256="):]
    upload = _devpi_upload(entry, where, path)
    when = upload.get("when") if upload else None
    return Recorded(
        sha256=_sha256(sha256, f"{where} sha256", path),
        upload_time=(_devpi_when(when, f"{where}.log when", path) if when is not None
                     else _http_date(mapping.get("last_modified"))),
        uploader=(_short(upload["who"], f"{where}.log who", path, names.MAX_NAME_LENGTH)
                  if upload and upload.get("who") is not None else None),
    )


def _devpi_upload(entry: dict, where: str, path: Path) -> dict | None:
    """The file's first ``upload`` in devpi's log (a push to another index logs ``push``)."""
    for item in _expect(entry.get("log", []), list, f"{where}.log", path):
        if isinstance(item, dict) and item.get("what") in ("upload", "push"):
            return item
    return None


def _devpi_when(value, where: str, path: Path) -> datetime.datetime:
    """devpi's ``when``: ``[year, month, day, hour, minute, second]`` in UTC."""
    value = _expect(value, list, where, path)
    try:
        return datetime.datetime(*(int(v) for v in value[:6]), tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        raise CatalogError(f"{path.name}: {where} {value!r} is not a time.") from None


def _http_date(value) -> datetime.datetime | None:
    """``last_modified`` (``Tue, 01 Dec 2026 19:21:51 GMT``), or None if it is none."""
    if not isinstance(value, str):
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(datetime.timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
