"""Importing files on disk (shop/hosting/ondisk.py, shop/operations/importing.py) into a
Repository on DemoStorage: metadata read from the files, batches committed, a second run
resuming where an interrupted one stopped, and who may import."""
from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.hosting.ondisk import core_metadata, form_from_file
from shop.model import audit, events, names
from shop.model.people import User
from shop.model.tree import Package
from shop.model.root import app_root
from shop.operations.check import no_progress
from shop.operations.importing import ImportFailed, import_directory
from tests.factories import make_sdist, make_wheel, metadata_text, pax_bomb_sdist, tar_gz
from tests.unit.conftest import other_connection

MAX_SIZE = 10 * 1024 * 1024


@pytest.fixture
def admin(root, tm):
    root.users.add("admin", User("not-a-hash", admin=True))
    root.users.add("carol", User("not-a-hash"))
    tm.commit()
    return "admin"


def do_import(root, directory, **options):
    options.setdefault("uploader", "admin")
    options.setdefault("max_size", MAX_SIZE)
    return import_directory(root, directory, repository="default", tmp_dir=None, **options)


def test_a_wheels_form_comes_from_its_own_metadata(tmp_path):
    meta = metadata_text("Demo.Tool", "1.0", requires_python=">=3.9",
                         requires_dist=("requests>=2",)) + "Project-URL: Source, https://example.com/src\n"
    path = make_wheel("Demo.Tool", "1.0", metadata=meta).write(tmp_path)
    form = form_from_file(str(path), path.name, None, MAX_SIZE)
    try:
        assert (form.name, form.version, form.filetype, form.pyversion) == (
            "Demo.Tool", "1.0", "bdist_wheel", "py3")
        assert form.metadata["requires_python"] == ">=3.9"
        assert form.metadata["requires_dist"] == ["requests>=2"]
        assert form.metadata["project_urls"] == ["Source, https://example.com/src"]
        assert form.digests == {"sha256": form.content.hashes["sha256"]}
    finally:
        form.discard()


def test_an_sdist_whose_pkg_info_comes_last_is_read_and_one_without_is_named_by_its_file(tmp_path):
    last = tar_gz({"late-1.0/late/__init__.py": b"", "late-1.0/zzz.txt": b"x" * 10000,
                   "late-1.0/PKG-INFO": metadata_text("Late", "1.0", summary="Read").encode()})
    (tmp_path / "late-1.0.tar.gz").write_bytes(last)
    form = form_from_file(str(tmp_path / "late-1.0.tar.gz"), "late-1.0.tar.gz", None, MAX_SIZE)
    assert (form.name, form.metadata["summary"], form.pyversion) == ("Late", "Read", "source")
    form.discard()
    (tmp_path / "bare-2.0.tar.gz").write_bytes(tar_gz({"bare-2.0/setup.py": b""}))
    form = form_from_file(str(tmp_path / "bare-2.0.tar.gz"), "bare-2.0.tar.gz", None, MAX_SIZE)
    assert (form.name, form.version, form.metadata) == ("bare", "2.0", {})
    form.discard()


def test_each_batch_is_committed_and_a_refused_file_stops_no_other(db, root, admin, tmp_path, tm):
    for i in range(5):
        make_wheel(f"tool{i}", "1.0").write(tmp_path)
    (tmp_path / "broken-1.0.tar.gz").write_bytes(b"no gzip")
    who = events.Actor("dana (command line)", "local")
    events.act(tm, who)
    outcome = do_import(root, tmp_path, batch_files=2)
    assert (outcome.imported, outcome.skipped, outcome.commits) == (5, 0, 3)
    assert outcome.refused == [("broken-1.0.tar.gz", "Invalid sdist broken-1.0.tar.gz: not a gzipped"
                                " tar archive (Not a gzipped file (b'no')).")]
    conn = other_connection(db)
    try:  # committed: another connection sees every file, and the uploader owns each project
        repository = app_root(conn).repositories["default"]
        assert sorted(repository) == [f"tool{i}" for i in range(5)]
        assert list(repository["tool3"].owners) == ["admin"]
        # Every batch's uploads are in the audit log as the one who ran the import.
        uploads = [e for e in audit.log_of(app_root(conn)).since() if e.kind == events.UPLOAD]
        assert len(uploads) == 5 and {e.user for e in uploads} == {who.user}
    finally:
        conn.close()


class Interrupted(Exception):
    pass


def interrupt_after(files: int):
    """A progress bar that stops the import (as Ctrl-C would) once ``files`` were done."""
    class Bar:
        done = 0

        def update(self, n: int = 1) -> None:
            Bar.done += n
            if Bar.done >= files:
                raise Interrupted

        def close(self) -> None:
            pass

    return lambda **kwargs: Bar()


def test_an_interrupted_import_keeps_its_committed_batches_and_a_second_run_resumes(db, root, admin,
                                                                                     tm, tmp_path):
    dists = [make_wheel(f"tool{i}", "1.0") for i in range(4)] + [make_sdist("tool0", "2.0")]
    for dist in dists:
        dist.write(tmp_path)
    with pytest.raises(Interrupted):
        do_import(root, tmp_path, batch_files=2, progress=interrupt_after(2))
    tm.abort()  # stopped once the first batch (tool0's two files) was committed
    assert sorted(root.repositories["default"]) == ["tool0"]
    assert len(root.repositories["default"]["tool0"]) == 2
    outcome = do_import(root, tmp_path, batch_files=2, progress=no_progress)
    assert (outcome.imported, outcome.skipped, outcome.refused) == (3, 2, [])


def test_only_an_active_account_that_may_upload_imports(root, admin, tmp_path):
    with pytest.raises(ImportFailed, match="No user 'nobody'.*--uploader NAME"):
        do_import(root, tmp_path, uploader="nobody")
    with pytest.raises(ImportFailed, match="carol may not upload to repository default.*"
                                           "--role user:carol=uploader"):
        do_import(root, tmp_path, uploader="carol")
    root.users["admin"].active = False
    with pytest.raises(ImportFailed, match="deactivated"):
        do_import(root, tmp_path)


def test_a_project_someone_else_owns_is_refused_as_an_upload_would_be(root, admin, tmp_path):
    make_wheel("theirs", "1.0").write(tmp_path)
    do_import(root, tmp_path)
    root.repositories["default"].roles["user:carol"] = "uploader"
    make_wheel("theirs", "2.0").write(tmp_path)
    outcome = do_import(root, tmp_path, uploader="carol")
    # As for an upload, the project's owners are asked first: even its stored file is refused.
    assert (outcome.imported, outcome.skipped, len(outcome.refused)) == (0, 0, 2)
    for _path, reason in outcome.refused:
        assert reason.startswith("Forbidden: carol may not upload to project theirs")


def test_a_batch_whose_commit_conflicts_with_another_writer_is_imported_again(db, root, admin,
                                                                             tmp_path):
    for i in range(5):
        make_wheel(f"tool{i}", "1.0").write(tmp_path)

    class Bar:
        def update(self, n: int = 1) -> None:
            if n == 2 and "tool3" not in seen:  # after the first batch: another process
                seen.add("tool3")  # creates tool3 before this import's next batch does
                conn = other_connection(db)
                app_root(conn).repositories["default"].add("tool3", Package("tool3"))
                conn.transaction_manager.commit()
                conn.close()

        def close(self) -> None:
            pass

    seen: set[str] = set()
    outcome = do_import(root, tmp_path, batch_files=2, progress=lambda **kwargs: Bar())
    assert (outcome.imported, outcome.retried, outcome.commits) == (5, 1, 3)
    assert "1 batches were imported again after a conflict" in outcome.summary()
    assert root.repositories["default"]["tool3"].hosted
    assert list(root.repositories["default"]["tool3"]["1"]) == ["tool3-1.0-py3-none-any.whl"]


def test_a_file_over_the_upload_limit_is_refused_as_an_upload_would_be(root, admin, tmp_path):
    make_wheel("small", "1.0").write(tmp_path)
    make_wheel("large", "1.0", padding=300_000).write(tmp_path)
    outcome = do_import(root, tmp_path, max_size=200_000)
    assert outcome.imported == 1
    assert outcome.refused == [("large-1.0-py3-none-any.whl",
                                "File too large: more than 200000 bytes (shop.max_upload_size).")]
    assert sorted(root.repositories["default"]) == ["small"]


def test_an_sdists_huge_pax_header_is_skipped_not_read_into_memory(tmp_path):
    bomb = pax_bomb_sdist("bomb", "1.0", header_size=64 * 1024 * 1024)
    path = bomb.write(tmp_path)
    tracemalloc.start()
    try:
        raw = core_metadata(str(path), names.parse_filename(bomb.filename))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raw["name"] == "bomb" and raw["version"] == "1.0"  # the member after it
    assert peak < 8 * 1024 * 1024, peak


@given(data=st.binary(max_size=2048) | st.builds(lambda d, cut: d[:cut], st.sampled_from(
    [make_wheel("demo", "1.0").data, make_sdist("demo", "1.0").data]), st.integers(0, 1500)),
    filename=st.sampled_from(["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0.zip"]))
def test_any_bytes_give_metadata_or_none_and_never_an_error(tmp_path, data, filename):
    (tmp_path / filename).write_bytes(data)
    assert isinstance(core_metadata(str(tmp_path / filename), names.parse_filename(filename)), dict)
