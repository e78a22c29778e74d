"""``localshop cleanup`` and the retention flags of ``repository set`` on a real FileStorage."""
from __future__ import annotations

import datetime

import pytest

from shop.scripts import cli
from shop.storage import open_database, root_transaction
from tests.trees import add_file

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def ini(tmp_path):
    var = tmp_path / "var"
    path = tmp_path / "localshop.ini"
    path.write_text(
        "[app:main]\nuse = egg:localshop\nshop.upstream = none\nshop.secret = s3cret\n"
        f"zodbconn.uri = file://{var}/Data.fs?blobstorage_dir={var}/blobs\n"
    )
    return str(path)


def localshop(ini: str, capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["-c", ini, *args])
    out, err = capsys.readouterr()
    return status, out, err


def fill(ini: str) -> None:
    """Hosted pre-releases and mirrored files of 1000 bytes each, in the ini's database."""
    from pyramid.paster import get_appsettings

    db = open_database(get_appsettings(ini)["zodbconn.uri"])
    try:
        with root_transaction(db) as root:
            repository = root.repositories["default"]
            for version in ("1.0a1", "1.0a2", "1.0a3", "1.0", "2.0.dev1"):
                add_file(repository, "ours", version, size=1000)
            for i in range(4):
                file = add_file(repository, f"theirs{i}", "1.0", origin="mirror", size=1000)
                file.last_downloaded = T0 + datetime.timedelta(hours=(i * 3) % 4)
    finally:
        db.close()


def test_retention_flags_are_set_shown_and_malformed_ones_refused(ini, capsys):
    assert localshop(ini, capsys, "repository", "set", "default", "--keep-dev-releases", "3",
                     "--mirror-cache-size", "2G")[0] == 0
    status, out, _ = localshop(ini, capsys, "repository", "list")
    assert status == 0 and "keep-dev-releases 3  mirror-cache-size 2G" in out
    status, _, err = localshop(ini, capsys, "repository", "set", "default",
                               "--mirror-cache-size", "2 gigs")
    assert status == 1 and "Invalid mirror cache size '2 gigs'" in err
    localshop(ini, capsys, "repository", "set", "default", "--keep-dev-releases", "none",
              "--mirror-cache-size", "0")
    assert "keep-dev-releases none  mirror-cache-size none" in localshop(
        ini, capsys, "repository", "list")[1]


def test_dry_run_lists_exactly_what_cleanup_then_deletes(ini, capsys):
    localshop(ini, capsys, "repository", "set", "default", "--keep-dev-releases", "1",
              "--mirror-cache-size", "2K")
    fill(ini)
    status, dry, _ = localshop(ini, capsys, "cleanup", "--dry-run")
    assert status == 0
    status, done, _ = localshop(ini, capsys, "cleanup")
    assert status == 0
    dry_lines, done_lines = dry.splitlines(), done.splitlines()
    listed = [line for line in dry_lines if line.startswith(("dev-release", "evict"))]
    # 2.0.dev1 is the newest pre-release and stays; 1.0 is final; theirs0 and theirs3 were
    # downloaded longest ago (hours 0 and 1), theirs2 and theirs1 stay (hours 2 and 3).
    assert [line.split()[1:4] for line in listed] == [
        ["default/ours", "1.0a3", "ours-1.0a3-py3-none-any.whl"],
        ["default/ours", "1.0a2", "ours-1.0a2-py3-none-any.whl"],
        ["default/ours", "1.0a1", "ours-1.0a1-py3-none-any.whl"],
        ["default/theirs0", "1.0", "theirs0-1.0-py3-none-any.whl"],
        ["default/theirs3", "1.0", "theirs3-1.0-py3-none-any.whl"],
    ]
    assert done_lines[:len(listed)] == listed
    assert dry_lines[len(listed)].startswith("Would delete 5 files, 5000 bytes")
    assert done_lines[len(listed)].startswith("Deleted 5 files, 5000 bytes")
    assert "mirrored 2 files, 2000 bytes stored" in done
    # Done: nothing more is due, and the dry run says so.
    assert localshop(ini, capsys, "cleanup", "--dry-run")[1].startswith("Would delete 0 files, 0 bytes")


def test_cleanup_beside_a_server_holding_the_database_points_to_its_periodic_cleanup(ini, capsys):
    from pyramid.paster import get_appsettings

    localshop(ini, capsys, "repository", "list")  # nothing yet: the database is made by a write
    localshop(ini, capsys, "repository", "set", "default", "--keep-dev-releases", "1")
    db = open_database(get_appsettings(ini)["zodbconn.uri"])  # as the running server holds it
    try:
        status, _, err = localshop(ini, capsys, "cleanup")
        assert status == 2
        assert "holds its lock" in err and "every shop.cleanup_interval seconds" in err
        # The dry run only reads: it runs beside the server.
        status, out, _ = localshop(ini, capsys, "cleanup", "--dry-run")
        assert status == 0 and out.startswith("Would delete 0 files")
    finally:
        db.close()


def test_files_removed_upstream_a_week_ago_are_evicted_unless_the_repository_keeps_them(
        ini, capsys):
    from pyramid.paster import get_appsettings

    from shop.model.folders import utcnow
    from shop.model.listings import UpstreamListing

    localshop(ini, capsys, "repository", "set", "default", "--upstream-deletions", "keep")
    db = open_database(get_appsettings(ini)["zodbconn.uri"])
    try:
        with root_transaction(db) as root:
            repository = root.repositories["default"]
            for project, days in (("old-gone", 8), ("new-gone", 1), ("listed", None)):
                file = add_file(repository, project, "1.0", origin="mirror", size=1000)
                file.__parent__.__parent__.listing = UpstreamListing(())
                if days is not None:
                    file.removed_upstream = utcnow() - datetime.timedelta(days=days)
    finally:
        db.close()
    assert localshop(ini, capsys, "cleanup")[1].startswith("Deleted 0 files")

    localshop(ini, capsys, "repository", "set", "default", "--upstream-deletions", "follow")
    status, out, _ = localshop(ini, capsys, "cleanup")
    assert status == 0
    assert out.splitlines()[0].split() == [
        "removed", "default/old-gone", "1.0", "old_gone-1.0-py3-none-any.whl", "1000", "bytes"]
    assert "Deleted 1 files, 1000 bytes (0 of old pre-/dev-releases, 0 mirrored evicted, " \
           "1 removed upstream 7 days ago or more)" in out
    db = open_database(get_appsettings(ini)["zodbconn.uri"])
    try:
        with root_transaction(db) as root:
            repository = root.repositories["default"]
            assert len(repository["old-gone"]) == 0  # record and bytes gone
            assert len(repository["new-gone"]) == 1 and repository.stored_files() == 2
    finally:
        db.close()
