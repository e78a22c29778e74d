"""Retention (shop/operations/retention.py) on a real ZODB: old pre-/dev-releases of hosted
projects deleted, mirrored bytes evicted least recently downloaded first, download times
written in batches."""
from __future__ import annotations

import datetime

import pytest
from ZODB.blob import Blob

from shop.model import audit, events, repositories
from shop.model.root import app_root
from shop.operations import retention

from tests.trees import add_file
from tests.unit.conftest import other_connection

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def versions(repository, project: str) -> list[str]:
    return [r.version for r in repository[project].releases()]


def test_the_newest_n_pre_and_dev_releases_are_kept_and_finals_never_deleted(repository, tm):
    for version in ("0.9", "1.0a1", "1.0b1", "1.0rc1", "1.0", "1.1.dev1", "1.1.dev2", "2.0"):
        add_file(repository, "app", version)
    repositories.configure(repository, keep_dev_releases="2")
    tm.commit()
    found = retention.plan(app_root(repository._p_jar))
    assert [(d.kind, d.version) for d in found] == [("dev-release", "1.0rc1"),
                                                    ("dev-release", "1.0b1"),
                                                    ("dev-release", "1.0a1")]
    assert sum(d.size for d in found) == 300
    files_before = repository.stored_files()
    retention.apply(app_root(repository._p_jar), found)
    assert versions(repository, "app") == ["2.0", "1.1.dev2", "1.1.dev1", "1.0", "0.9"]
    assert repository.stored_files() == files_before - 3
    assert retention.plan(app_root(repository._p_jar)) == []  # nothing more to do


def test_mirrored_pre_releases_are_never_deleted_by_the_dev_release_policy(repository):
    for version in ("1.0a1", "1.0a2", "1.0a3"):
        add_file(repository, "upstreams", version, origin="mirror")
    # A hosted project merged with upstream's files: only its uploads count and go.
    add_file(repository, "mixed", "1.0a1", origin="mirror")
    add_file(repository, "mixed", "1.0a1", suffix="tar.gz")
    add_file(repository, "mixed", "1.0a2")
    repositories.configure(repository, keep_dev_releases="1")
    found = retention.plan(app_root(repository._p_jar))
    assert [(d.key.project, d.key.filename) for d in found] == [("mixed", "mixed-1.0a1-tar.gz")]
    retention.apply(app_root(repository._p_jar), found)
    assert versions(repository, "upstreams") == ["1.0a3", "1.0a2", "1.0a1"]
    assert list(repository["mixed"]["1a1"]) == ["mixed-1.0a1-py3-none-any.whl"]


def test_no_limit_deletes_nothing(repository):
    for version in ("1.0a1", "1.0a2"):
        add_file(repository, "app", version)
    add_file(repository, "big", "1.0", origin="mirror", size=10_000)
    repositories.configure(repository, keep_dev_releases="none", mirror_cache_size="0")
    assert retention.plan(app_root(repository._p_jar)) == []


def test_eviction_keeps_mirrored_bytes_under_the_size_least_recently_downloaded_first(repository):
    files = [add_file(repository, f"m{i}", "1.0", origin="mirror", size=1000) for i in range(5)]
    hosted = add_file(repository, "ours", "1.0", size=5000)
    for i, file in enumerate(files):  # m3 downloaded longest ago, then m1, m0, m4, m2
        file.last_downloaded = T0 + datetime.timedelta(hours=[3, 1, 5, 0, 4][i])
    repositories.configure(repository, mirror_cache_size="2500")
    root = app_root(repository._p_jar)
    found = retention.plan(root)
    assert [d.key.project for d in found] == ["m3", "m1", "m0"]
    assert all(d.kind == "evict" for d in found)
    retention.apply(root, found)
    assert sum(f.size for f in retention.mirrored_files(repository)) == 2000 <= 2500
    assert [f.blob is not None for f in files] == [False, False, True, False, True]
    assert hosted.blob is not None  # hosted bytes count for nothing and are never evicted
    assert repository.stored_files() == 3 and repository.stored_bytes() == 7000
    assert retention.plan(root) == []


def test_an_evicted_file_looks_as_never_fetched_and_can_be_stored_again(repository):
    file = add_file(repository, "m", "1.0", origin="mirror", size=1000)
    file.forget()
    assert file.blob is None and "blob" not in file.__dict__
    assert repository.stored_files() == 0 and repository.stored_bytes() == 0
    file.store(Blob(b"x" * 1000), file.sha256, 1000)
    assert repository.stored_files() == 1 and repository.stored_bytes() == 1000


def test_hosted_files_cannot_be_forgotten(repository):
    file = add_file(repository, "ours", "1.0")
    with pytest.raises(ValueError, match="hosted"):
        file.forget()
    assert file.blob is not None


def test_files_never_downloaded_since_times_were_kept_go_first(repository):
    old = add_file(repository, "old", "1.0", origin="mirror", size=1000)
    recent = add_file(repository, "recent", "1.0", origin="mirror", size=1000)
    recent.last_downloaded = T0
    repositories.configure(repository, mirror_cache_size="1K")
    assert [d.key.project for d in retention.plan(app_root(repository._p_jar))] == ["old"]
    assert old.last_downloaded is None


def test_download_times_are_written_in_one_transaction_not_per_download(db, repository, tm):
    files = [add_file(repository, f"m{i}", "1.0", origin="mirror") for i in range(3)]
    tm.commit()
    times = retention.DownloadTimes()
    serial = db.lastTransaction()
    for _ in range(50):
        for file in files[:2]:
            times.seen(file)
    assert db.lastTransaction() == serial and times.pending() == 2
    assert times.write(db) == 2
    assert times.pending() == 0 and times.write(db) == 0
    conn = other_connection(db)
    try:
        fresh = app_root(conn).repositories["default"]
        stamps = [fresh[f"m{i}"]["1"].values()[0].last_downloaded for i in range(3)]
    finally:
        conn.close()
    assert stamps[0] is not None and stamps[1] is not None and stamps[2] is None


def test_a_full_batch_keeps_updating_what_it_holds_and_counts_what_it_drops(repository):
    files = [add_file(repository, f"m{i}", "1.0", origin="mirror") for i in range(3)]
    times = retention.DownloadTimes(max_pending=2)
    for file in files:
        times.seen(file)
    times.seen(files[0])
    assert times.pending() == 2 and times.dropped == 1


@pytest.mark.parametrize("text, size", [("500", 500), ("2K", 2048), ("3m", 3 * 1024**2),
                                        ("1G", 1024**3), ("2T", 2 * 1024**4), ("10MB", 10 * 1024**2),
                                        ("0", None), ("none", None), ("", None)])
def test_cache_sizes_take_suffixes_and_zero_or_none_turns_the_limit_off(text, size):
    assert repositories.parse_size(text, "mirror cache size") == size


@pytest.mark.parametrize("text", ["-1", "1.5G", "12X", "ten", "K", "٣"])
def test_a_malformed_cache_size_is_refused_saying_how_to_write_one(text, repository):
    with pytest.raises(repositories.RepositoryError, match="Invalid mirror cache size.*500M"):
        repositories.configure(repository, mirror_cache_size=text)
    assert repository.mirror_cache_size is None


@pytest.mark.parametrize("text", ["-1", "2.5", "two", "3K"])
def test_a_malformed_dev_release_count_is_refused(text, repository):
    with pytest.raises(repositories.RepositoryError, match="Invalid keep dev releases.*whole number"):
        repositories.configure(repository, keep_dev_releases=text)


def test_the_servers_cleanup_deletes_as_retention_in_the_audit_log(db, repository, tm):
    for version in ("1.0a1", "1.0b1", "1.0"):
        add_file(repository, "app", version, origin="upload")
    repositories.configure(repository, keep_dev_releases="1")
    tm.commit()
    assert [d.version for d in retention.cleanup(db)] == ["1.0a1"]
    conn = other_connection(db)
    try:
        deletes = [e for e in audit.log_of(app_root(conn)).since() if e.kind == events.DELETE]
        assert [(e.version, e.user, e.address) for e in deletes] == [
            ("1.0a1", "retention (shop.cleanup_interval)", "local")]
    finally:
        conn.close()
