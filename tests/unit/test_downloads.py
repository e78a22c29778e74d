"""Mirrored downloads: one per file per process, and never one that has already failed."""
from __future__ import annotations

import socket

import pytest

from shop.mirror.downloads import Download, Downloads
from shop.mirror.storing import DownloadFailed, FileKey
from shop.mirror.upstream import Upstream
from shop.mirror.writer import Writer
from shop.model.tree import Package, Release, ReleaseFile
from shop.pages.cache import PageCache


def refused_url() -> str:
    """A loopback URL nothing listens on: a download from it fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/files/demo-1.0.tar.gz"


def mirrored_file(repository) -> ReleaseFile:
    release = repository.add("demo", Package("demo")).add("1", Release("1.0"))
    file = release.add("demo-1.0.tar.gz", ReleaseFile(
        "demo-1.0.tar.gz", packagetype="sdist", size=None, sha256=None))
    file.origin, file.upstream_url = "mirror", refused_url()
    return file


def test_a_failed_download_still_registered_is_not_joined(db, repository, tm):
    file = mirrored_file(repository)
    tm.commit()
    downloads = Downloads(db, Upstream((1.0, 1.0), "localshop-test"), Writer(db), PageCache(1024))
    # A failed download stays registered until its thread has cleaned up; clients told of
    # the failure may ask again before that.
    failed = Download(FileKey.of(file), file.upstream_url, None, None, db.storage.temporaryDirectory())
    failed._finish("failed", error="upstream went away")
    downloads._running[FileKey.of(file)] = failed
    try:
        again = downloads.start(file)
        assert again is not failed  # a new attempt (this one fails too: nothing listens)
        with pytest.raises(DownloadFailed, match="cannot reach upstream"):
            again.wait_started(5)
    finally:
        downloads.close()


def test_a_running_download_is_joined(db, repository, tm):
    file = mirrored_file(repository)
    tm.commit()
    downloads = Downloads(db, Upstream((1.0, 1.0), "localshop-test"), Writer(db), PageCache(1024))
    running = Download(FileKey.of(file), file.upstream_url, None, None, db.storage.temporaryDirectory())
    downloads._running[FileKey.of(file)] = running
    try:
        assert downloads.start(file) is running
    finally:
        running._finish("failed", error="test over")
        downloads.close()
