"""A full disk, for real: the database on a small tmpfs, filled up by the test."""
from __future__ import annotations

import os

import pytest

from tests.factories import make_wheel
from tests.functional.conftest import ANONYMOUS_READ, upload
from tests.smalldisk import fill, free_space, tmpfs

REASON = "Insufficient storage: the server's disk is full; nothing was stored"


@pytest.fixture
def small_var(tmp_path):
    """The app's var/ (Data.fs and blobs) on a 30 MB tmpfs."""
    with tmpfs(tmp_path / "var", "30m") as var:
        yield var


def scratch_files(var) -> list[str]:
    return sorted(os.listdir(var / "blobs" / "tmp"))


def test_upload_larger_than_the_free_space_is_507_and_once_there_is_room_it_is_stored(
        small_var, make_app):
    app = make_app(**ANONYMOUS_READ)
    dist = make_wheel("roomy", "1.0", padding=2 * 1024 * 1024)
    filler = fill(small_var, leave=512 * 1024)
    assert free_space(small_var) < len(dist.data)

    refused = upload(app, dist)

    assert refused.status == f"507 {REASON}"
    assert refused.text == REASON + "\n"
    assert scratch_files(small_var) == []
    assert app.get("/simple/roomy/", status=404)
    assert app.get("/simple/").status_int == 200  # the server keeps serving
    filler.unlink()
    assert upload(app, dist).status_int == 200
    assert app.get("/simple/roomy/").status_int == 200


def blob_files(var) -> list[str]:
    return sorted(str(p.relative_to(var)) for p in (var / "blobs").rglob("*.blob"))


def test_commit_that_finds_no_room_for_data_fs_is_507_and_the_storage_stays_usable(
        small_var, make_app):
    app = make_app(**ANONYMOUS_READ)
    dist = make_wheel("wordy", "1.0", padding=256 * 1024)
    description = "".join(f"{i:07x}\n" for i in range(100_000))  # 800 kB in Data.fs
    blobs_before, data_fs = blob_files(small_var), (small_var / "Data.fs").stat().st_size
    # Room for the received file, not for the records the commit writes.
    filler = fill(small_var, leave=len(dist.data) + 128 * 1024)

    refused = upload(app, dist, description=description)

    assert refused.status == f"507 {REASON}"
    assert scratch_files(small_var) == [] and blob_files(small_var) == blobs_before
    assert (small_var / "Data.fs").stat().st_size == data_fs
    assert app.get("/simple/wordy/", status=404)
    filler.unlink()
    assert upload(app, dist, description=description).status_int == 200
    assert app.get("/simple/wordy/").status_int == 200
