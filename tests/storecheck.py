"""Looking inside a localshop database from a test: every stored file must match its own hash.

Functional tests open the application's own ``ZODB.DB`` (``opened(app)``); end-to-end tests
open the stopped server's FileStorage read-only (``opened_storage(var_dir)``).
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from shop.services import services_of
from shop.storage import database, root_transaction


@dataclass(frozen=True)
class StoredFile:
    """What the tree says about one file, and what its blobs really hold."""

    repository: str
    project: str
    version: str
    filename: str
    origin: str
    sha256: str | None
    size: int | None
    blob_sha256: str | None  # None: the bytes are not stored
    blob_size: int | None
    metadata_sha256: str | None
    metadata_blob_sha256: str | None


def _blob_digest(blob) -> tuple[str | None, int | None]:
    if blob is None:
        return None, None
    digest, size = hashlib.sha256(), 0
    with blob.open("r") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def opened_db(db):
    """The application root in a connection of its own; committed (if changed) on exit."""
    return root_transaction(db)


def settled(app) -> None:
    """Wait until the mirror of a WebTest app has stored what it served: its downloads, core
    metadata and listings (clients are answered first, the writer commits after)."""
    busy = services_of(app.app.registry).busy
    deadline = time.monotonic() + 10
    while busy() and time.monotonic() < deadline:
        time.sleep(0.01)


def app_db(app):
    """The ZODB.DB of a WebTest TestApp built by the ``make_app`` fixture, once ``settled``."""
    settled(app)
    return database(app.app.registry)


@contextmanager
def opened(app) -> Iterator:
    """``opened_db`` for a WebTest app, once ``settled``."""
    with opened_db(app_db(app)) as root:
        yield root


@contextmanager
def opened_storage(var_dir: Path) -> Iterator:
    """The root of a stopped server's database (``<var_dir>/Data.fs`` and its blobs), read-only."""
    from ZODB.FileStorage import FileStorage

    storage = FileStorage(str(var_dir / "Data.fs"), blob_dir=str(var_dir / "blobs"), read_only=True)
    with opened_storage_object(storage) as root:
        yield root


@contextmanager
def opened_storage_object(storage) -> Iterator:
    """The root in a database over ``storage`` (closed, with the storage, on exit)."""
    import ZODB

    db = ZODB.DB(storage)
    try:
        with opened_db(db) as root:
            yield root
    finally:
        db.close()


def stored_files(root) -> list[StoredFile]:
    """Every file of every repository (a mirrored one also when only listed), with the
    digests of its stored bytes."""
    found = []
    for repo_name, repository in root.repositories.items():
        for project, package in repository.items():
            for file in package.files():  # records, and files only listed upstream
                blob_sha256, blob_size = _blob_digest(file.blob)
                metadata_sha256, _ = _blob_digest(file.core_metadata)
                found.append(StoredFile(
                    repo_name, project, file.__parent__.version, file.filename, file.origin,
                    file.sha256, file.size, blob_sha256, blob_size,
                    file.core_metadata_sha256 if file.core_metadata is not None else None,
                    metadata_sha256,
                ))
    return found


def assert_consistent(root) -> list[StoredFile]:
    """Fail if any stored file (or core metadata file) does not match its recorded sha256/size,
    or a repository's counts of stored files and bytes are not what its files add up to."""
    files = stored_files(root)
    bad = [
        f for f in files
        if f.blob_sha256 is not None and (f.blob_sha256 != f.sha256 or f.blob_size != f.size)
        or f.metadata_blob_sha256 is not None and f.metadata_blob_sha256 != f.metadata_sha256
    ]
    assert not bad, f"stored bytes do not match their recorded hash: {bad}"
    for name, repository in root.repositories.items():
        kept = [f for f in files if f.repository == name and f.blob_sha256 is not None]
        counted = (repository.stored_files(), repository.stored_bytes())
        assert counted == (len(kept), sum(f.blob_size for f in kept)), f"{name} counts {counted}"
    return files


def assert_app_store_consistent(app) -> list[StoredFile]:
    with opened(app) as root:
        return assert_consistent(root)


def stored(app, filename: str) -> StoredFile | None:
    """The record of ``filename`` (in any repository/project), or None if the tree lacks it."""
    with opened(app) as root:
        return next((f for f in stored_files(root) if f.filename == filename), None)


def assert_file_storage_sound(var_dir: Path) -> None:
    """Fail unless ZODB's own checks pass on a stopped server's ``Data.fs``: ``fstest`` (the
    file's structure) and ``fsrefs`` (no record refers to a missing one)."""
    path = str(var_dir / "Data.fs")
    for script in ("fstest", "fsrefs"):
        done = subprocess.run([sys.executable, "-m", f"ZODB.scripts.{script}", path],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), (
            f"{script} {path}: exit {done.returncode}\n{done.stdout}{done.stderr}"
        )
