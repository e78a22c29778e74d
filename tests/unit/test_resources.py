"""The persistent tree (shop/model/): folders, keys, and what a change invalidates."""
from __future__ import annotations

import pytest
import transaction
import ZODB
import ZODB.FileStorage
from ZODB.blob import Blob

from shop.model import names
from shop.pages import simple
from shop.pages.cache import PageCache
from shop.model.folders import Folder
from shop.model.people import User
from shop.model.transient import CoreMetadata
from shop.model.bootstrap import bootstrap, ensure_stored_counts
from shop.model.root import app_root
from shop.model.tree import Package, Release, ReleaseFile, Repository, stored_in

from tests.factories import make_sdist, make_wheel, make_zip

from tests.unit.conftest import other_connection, publish_as, upload_form


def release_file(filename: str = "demo-1.0.tar.gz", *, metadata: bytes | None = None) -> ReleaseFile:
    data = b"bytes of " + filename.encode()
    file = ReleaseFile(
        filename,
        packagetype="bdist_wheel" if filename.endswith(".whl") else "sdist",
        size=len(data),
        sha256="0" * 64,
        blob=Blob(data),
    )
    if metadata is not None:
        file.core_metadata = Blob(metadata)
        file.core_metadata_sha256 = "1" * 64
        file.core_metadata_size = len(metadata)
    return file


def project(repository: Repository, name: str = "demo", *files: tuple[str, str]) -> Package:
    """Add a package with ``(version, filename)`` files to ``repository``."""
    package = repository.add(names.normalize(name), Package(name))
    for version, filename in files:
        key = names.version_key(version)
        release = package.get(key) or package.add(key, Release(version))
        release.add(filename, release_file(filename))
    return package


# --- Folder -------------------------------------------------------------------------------


def test_add_sets_name_and_parent_and_counts():
    folder = Folder()
    child = Folder()
    assert folder.add("child", child) is child
    assert (child.__name__, child.__parent__) == ("child", folder)
    assert len(folder) == 1
    assert folder["child"] is child and "child" in folder and list(folder) == ["child"]


def test_remove_returns_the_child_and_counts_down():
    folder = Folder()
    child = folder.add("child", Folder())
    assert folder.remove("child") is child
    assert len(folder) == 0 and "child" not in folder
    with pytest.raises(KeyError):
        folder["child"]


def test_removing_a_missing_key_raises_key_error():
    with pytest.raises(KeyError):
        Folder().remove("nothing")


def test_adding_an_existing_key_is_refused_and_keeps_the_first_child():
    folder = Folder()
    first = folder.add("child", Folder())
    with pytest.raises(KeyError, match="already exists"):
        folder.add("child", Folder())
    assert folder["child"] is first and len(folder) == 1


@pytest.mark.parametrize("key", ["", "+files", "a/b", None, 1])
def test_keys_that_could_not_be_a_url_segment_are_refused(key):
    folder = Folder()
    with pytest.raises(KeyError, match="Invalid name"):
        folder.add(key, Folder())
    assert len(folder) == 0


def test_get_returns_the_default_for_a_missing_key():
    assert Folder().get("missing", "default") == "default"


# --- key validation by level ------------------------------------------------------------


def test_repository_names_must_be_valid_and_lower_case(root):
    with pytest.raises(KeyError, match="lower case"):
        root.repositories.add("Private", Repository())
    with pytest.raises(names.InvalidName):
        root.repositories.add("bad name", Repository())
    assert list(root.repositories) == ["default"]


def test_project_keys_must_be_normalized(repository):
    with pytest.raises(KeyError, match="not in canonical form"):
        repository.add("Foo_Bar", Package("Foo_Bar"))
    repository.add("foo-bar", Package("Foo_Bar"))
    assert list(repository) == ["foo-bar"]
    assert repository["foo-bar"].name == "Foo_Bar"


def test_release_keys_must_be_canonical_versions():
    package = Package("demo")
    with pytest.raises(KeyError, match="not in canonical form"):
        package.add("1.0", Release("1.0"))
    with pytest.raises(names.InvalidName):
        package.add("nonsense", Release("nonsense"))
    package.add("1", Release("1.0"))
    assert list(package) == ["1"] and package["1"].version == "1.0"


@pytest.mark.parametrize("filename", ["../demo-1.0.tar.gz", ".demo", "demo\x00-1.0.tar.gz"])
def test_file_keys_must_be_plain_filenames(filename):
    release = Release("1.0")
    with pytest.raises((KeyError, names.InvalidName)):
        release.add(filename, release_file("demo-1.0.tar.gz"))
    assert len(release) == 0


def test_user_names_must_be_valid(root):
    with pytest.raises(names.InvalidName):
        root.users.add("no spaces", User("hash"))


# --- the tree -----------------------------------------------------------------------------


def test_bootstrap_creates_the_default_repository_once(conn):
    root, created = bootstrap(conn.root(), "https://upstream.invalid/simple/")
    again, created_again = bootstrap(conn.root(), None)
    assert created and not created_again and again is root
    assert list(root.repositories) == ["default"]
    assert root.repositories["default"].upstream == "https://upstream.invalid/simple/"


def test_simple_and_pypi_are_the_default_repository(root):
    default = root.repositories["default"]
    assert root["simple"] is default and root["pypi"] is default and root["repo"]["default"] is default
    with pytest.raises(KeyError):
        root["other"]


def test_committed_tree_is_seen_with_its_counts_by_another_connection(db, repository, tm):
    project(repository, "Demo", ("1.0", "demo-1.0.tar.gz"), ("1.0.0", "demo-1.0.0.tar.gz"),
            ("2.0", "demo-2.0.tar.gz"))
    tm.commit()
    conn = other_connection(db)
    try:
        package = app_root(conn).repositories["default"]["demo"]
        assert len(package) == 2  # 1.0 and 1.0.0 are one release
        assert sorted(len(r) for r in package.values()) == [1, 2]
        assert [r.version for r in package.releases()] == ["2.0", "1.0"]
    finally:
        conn.close()


def test_releases_are_newest_first_by_pep_440(repository):
    package = project(repository, "demo", *[(v, f"demo-{v}.tar.gz") for v in ("1.9", "1.10", "1.0rc1")])
    assert [r.version for r in package.releases()] == ["1.10", "1.9", "1.0rc1"]


def test_a_wheel_with_core_metadata_has_a_metadata_file_beside_it():
    release = Release("1.0")
    wheel = release.add("demo-1.0-py3-none-any.whl",
                        release_file("demo-1.0-py3-none-any.whl", metadata=b"Name: demo\n"))
    metadata = release["demo-1.0-py3-none-any.whl.metadata"]
    assert isinstance(metadata, CoreMetadata) and metadata.file is wheel
    assert metadata.__name__ == "demo-1.0-py3-none-any.whl.metadata"


def test_an_sdist_has_no_metadata_file():
    release = Release("1.0")
    release.add("demo-1.0.tar.gz", release_file("demo-1.0.tar.gz"))
    with pytest.raises(KeyError):
        release["demo-1.0.tar.gz.metadata"]
    with pytest.raises(KeyError):
        release["missing.whl.metadata"]


def test_a_release_is_yanked_when_all_its_files_are():
    release = Release("1.0")
    assert not release.yanked  # no files: nothing to yank
    first = release.add("demo-1.0.tar.gz", release_file("demo-1.0.tar.gz"))
    second = release.add("demo-1.0.zip", release_file("demo-1.0.zip"))
    first.set_yanked(True, "broken")
    assert not release.yanked
    second.set_yanked(True)
    assert release.yanked


def test_unyanking_clears_the_reason():
    file = release_file()
    file.set_yanked(True, "broken")
    assert (file.yanked, file.yanked_reason) == (True, "broken")
    file.set_yanked(False, "ignored")
    assert (file.yanked, file.yanked_reason) == (False, "")


# --- cache invalidation -------------------------------------------------------------------


def test_project_pages_are_rendered_once_per_change(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    tm.commit()
    page = simple.project_page(package, simple.JSON_V1, pages)
    assert simple.project_page(package, simple.JSON_V1, pages) is page


def test_package_changed_drops_the_cached_pages(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    tm.commit()
    page = simple.project_page(package, simple.JSON_V1, pages)
    package.changed()
    tm.commit()
    again = simple.project_page(package, simple.JSON_V1, pages)
    assert again is not page and again.body == page.body  # rendered anew, same content


def committed_change(tm, package, pages, change, content_type=simple.JSON_V1):
    """The page before and after a committed change (the page before is cached)."""
    tm.commit()
    before = simple.project_page(package, content_type, pages)
    assert simple.project_page(package, content_type, pages) is before
    change()
    tm.commit()
    return before, simple.project_page(package, content_type, pages)


def test_a_new_file_invalidates_the_project_page(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    before, after = committed_change(
        tm, package, pages, lambda: package["1"].add("demo-1.0.zip", release_file("demo-1.0.zip")),
        simple.TEXT_HTML,
    )
    assert b"demo-1.0.zip" in after.body and after.etag != before.etag


def test_a_new_release_invalidates_the_project_page(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    before, after = committed_change(
        tm, package, pages,
        lambda: package.add("2", Release("2.0")).add("demo-2.0.tar.gz", release_file("demo-2.0.tar.gz")),
    )
    assert b"demo-2.0.tar.gz" in after.body and after.etag != before.etag


def test_removing_a_file_invalidates_the_project_page(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"), ("1.0", "demo-1.0.zip"))
    before, after = committed_change(tm, package, pages, lambda: package["1"].remove("demo-1.0.zip"))
    assert b"demo-1.0.zip" not in after.body and after.etag != before.etag


def test_yanking_a_file_invalidates_the_project_page(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    before, after = committed_change(
        tm, package, pages, lambda: package["1"]["demo-1.0.tar.gz"].set_yanked(True, "broken"),
    )
    assert b'"yanked":"broken"' in after.body and after.etag != before.etag


def test_a_page_of_an_uncommitted_change_is_not_kept(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    tm.commit()
    committed = simple.project_page(package, simple.JSON_V1, pages)
    package["1"]["demo-1.0.tar.gz"].set_yanked(True, "never committed")
    assert b"never committed" in simple.project_page(package, simple.JSON_V1, pages).body
    tm.abort()
    package.changed()  # another transaction reaches the same serial with other contents
    tm.commit()
    page = simple.project_page(package, simple.JSON_V1, pages)
    assert b"never committed" not in page.body and page.body == committed.body


def test_a_page_rendered_before_its_change_commits_is_kept_after_the_commit(repository, pages, tm):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))  # as a mirror lookup does
    page = simple.project_page(package, simple.JSON_V1, pages)
    tm.commit()
    assert simple.project_page(package, simple.JSON_V1, pages) is page


def test_a_commit_too_big_for_the_connection_cache_keeps_its_page_quietly(db, pages, caplog):
    # A first look-up of a big project commits more objects than the connection's cache
    # holds, which turns some into ghosts right after the commit. With explicit transactions
    # (pyramid_tm's), the connection cannot load what it has just created until its next
    # transaction begins: the after-commit hook must not try.
    tm = transaction.TransactionManager(explicit=True)
    conn = db.open(transaction_manager=tm)
    conn._cache.cache_size = 10
    try:
        tm.begin()
        repository = bootstrap(conn.root(), None)[0].repositories["default"]
        tm.commit()
        tm.begin()
        package = project(repository, "demo", *((f"1.{v}", f"demo-1.{v}.tar.gz") for v in range(40)))
        page = simple.project_page(package, simple.JSON_V1, pages)
        with caplog.at_level("ERROR"):
            tm.commit()
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        tm.begin()
        assert simple.project_page(package, simple.JSON_V1, pages).body == page.body
        tm.abort()
    finally:
        conn.close()


def test_every_connection_shares_one_rendering(db, repository, pages, tm):
    project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    tm.commit()
    page = simple.project_page(repository["demo"], simple.JSON_V1, pages)
    conn = other_connection(db)
    try:
        other = app_root(conn).repositories["default"]["demo"]
        assert simple.project_page(other, simple.JSON_V1, pages) is page
    finally:
        conn.close()


def test_the_least_recently_used_pages_go_first(repository, tm):
    for name in ("alpha", "beta", "gamma"):
        project(repository, name, ("1.0", f"{name}-1.0.tar.gz"))
    tm.commit()
    size = len(simple.project_page(repository["alpha"], simple.JSON_V1, PageCache(10**6)).body)
    pages = PageCache(2 * size + 10)  # room for two pages of this size
    alpha = simple.project_page(repository["alpha"], simple.JSON_V1, pages)
    beta = simple.project_page(repository["beta"], simple.JSON_V1, pages)
    assert simple.project_page(repository["alpha"], simple.JSON_V1, pages) is alpha  # alpha used last
    simple.project_page(repository["gamma"], simple.JSON_V1, pages)  # beta goes
    assert pages.size <= pages.max_bytes
    assert simple.project_page(repository["alpha"], simple.JSON_V1, pages) is alpha
    assert simple.project_page(repository["beta"], simple.JSON_V1, pages) is not beta


def test_a_change_committed_elsewhere_invalidates_the_project_page(db, repository, tm, pages):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"))
    tm.commit()
    before = simple.project_page(package, simple.JSON_V1, pages)
    conn = other_connection(db)
    try:
        with conn.transaction_manager:
            app_root(conn).repositories["default"]["demo"]["1"]["demo-1.0.tar.gz"].set_yanked(True, "x")
    finally:
        conn.close()
    tm.begin()  # a new transaction sees the other connection's commit
    after = simple.project_page(package, simple.JSON_V1, pages)
    assert b'"yanked":"x"' in after.body and after.etag != before.etag


def test_adding_and_removing_projects_invalidates_the_root_page(repository, pages, tm):
    empty = simple.root_page(repository, simple.JSON_V1, pages)
    assert simple.root_page(repository, simple.JSON_V1, pages) is empty
    project(repository, "demo")
    tm.commit()
    with_demo = simple.root_page(repository, simple.JSON_V1, pages)
    assert b'"demo"' in with_demo.body and with_demo.etag != empty.etag
    assert simple.root_page(repository, simple.JSON_V1, pages) is with_demo
    repository.remove("demo")
    tm.commit()
    assert simple.root_page(repository, simple.JSON_V1, pages).body == empty.body


# --- concurrency ----------------------------------------------------------------------------


@pytest.fixture
def file_db(tmp_path):
    # FileStorage, not DemoStorage: only a storage that resolves conflicts shows them resolved.
    storage = ZODB.FileStorage.FileStorage(str(tmp_path / "Data.fs"), blob_dir=str(tmp_path / "blobs"))
    db = ZODB.DB(storage)
    yield db
    db.close()


def test_a_page_rendered_before_a_merged_commit_is_not_kept(file_db):
    pages = PageCache(10**6)
    with file_db.transaction() as conn:
        root, _ = bootstrap(conn.root(), None)
        publish_as(root.repositories["default"], upload_form(make_sdist("demo", "1.0")))
    first, second = other_connection(file_db), other_connection(file_db)
    try:
        for conn in (first, second):
            conn.transaction_manager.begin()
        package = app_root(first).repositories["default"]["demo"]
        package["1"]["demo-1.0.tar.gz"].set_yanked(True, "first")
        stale = simple.project_page(package, simple.JSON_V1, pages)  # before second's change
        other = app_root(second).repositories["default"]["demo"]
        other.add("2", Release("2.0")).add("demo-2.0.tar.gz", release_file("demo-2.0.tar.gz"))
        second.transaction_manager.commit()
        first.transaction_manager.commit()  # both serial bumps merge: not the page rendered
        first.transaction_manager.begin()
        page = simple.project_page(package, simple.JSON_V1, pages)
        assert page is not stale and b'"2.0"' in page.body and b'"yanked":"first"' in page.body
    finally:
        first.close()
        second.close()


def test_concurrent_new_projects_in_one_repository_do_not_conflict(file_db):
    with file_db.transaction() as conn:
        bootstrap(conn.root(), None)
    first, second = other_connection(file_db), other_connection(file_db)
    try:
        for conn, name in ((first, "alpha"), (second, "beta")):
            conn.transaction_manager.begin()
            app_root(conn).repositories["default"].add(name, Package(name))
        first.transaction_manager.commit()
        second.transaction_manager.commit()  # resolved by OOBTree and Length, no ConflictError
    finally:
        first.close()
        second.close()
    with file_db.transaction() as conn:
        default = app_root(conn).repositories["default"]
        assert list(default) == ["alpha", "beta"] and len(default) == 2
        assert default.serial() == 2  # both bumps survive: both root pages are redone


@pytest.mark.parametrize("dists", [
    (make_sdist("demo", "2.0"), make_sdist("demo", "3.0")),  # two new releases
    (make_wheel("demo", "1.0"), make_zip("demo-1.0.zip", {"demo-1.0/PKG-INFO": b""})),  # one release
], ids=["new releases", "files of one release"])
def test_concurrent_uploads_to_one_project_do_not_conflict(file_db, dists, pages):
    with file_db.transaction() as conn:
        root, _ = bootstrap(conn.root(), None)
        publish_as(root.repositories["default"], upload_form(make_sdist("demo", "1.0")))
    first, second = other_connection(file_db), other_connection(file_db)
    try:
        for conn, dist in zip((first, second), dists):
            conn.transaction_manager.begin()
            publish_as(app_root(conn).repositories["default"], upload_form(dist))
        first.transaction_manager.commit()
        package = app_root(first).repositories["default"]["demo"]
        simple.project_page(package, simple.JSON_V1, pages)  # cached in first, without second's file
        second.transaction_manager.commit()  # no ConflictError: nothing to retry
        first.transaction_manager.begin()
        body = simple.project_page(package, simple.JSON_V1, pages).body.decode()
        assert all(name in body for name in ("demo-1.0.tar.gz", *(d.filename for d in dists)))
    finally:
        first.close()
        second.close()


# --- stored-file counts (the admin pages' figures) -----------------------------------------


def counts(repository: Repository) -> tuple[int, int]:
    return repository.stored_files(), repository.stored_bytes()


def test_stored_files_are_counted_as_they_come_and_go(repository):
    package = project(repository, "demo", ("1.0", "demo-1.0.tar.gz"), ("1.0", "demo-1.0-py3-none-any.whl"),
                      ("2.0", "demo-2.0.tar.gz"))
    assert counts(repository) == stored_in(package) == (3, sum(f.size for f in package.files()))
    release = package["1"]
    gone = release.remove("demo-1.0.tar.gz")
    assert counts(repository) == (2, stored_in(package)[1]) and gone.size > 0
    package.remove("2")  # a release with its files
    assert counts(repository) == stored_in(package) == (1, release["demo-1.0-py3-none-any.whl"].size)
    repository.remove("demo")
    assert counts(repository) == (0, 0)


def test_a_project_built_apart_is_counted_when_it_joins_the_repository(repository):
    package = Package("apart")
    release = package.add("1", Release("1.0"))
    release.add("apart-1.0.tar.gz", release_file("apart-1.0.tar.gz"))
    assert counts(repository) == (0, 0)
    repository.add("apart", package)
    assert counts(repository) == (1, release["apart-1.0.tar.gz"].size)


def test_a_mirrored_file_counts_once_its_bytes_are_stored(repository):
    release = project(repository, "mirrored").add("1", Release("1.0"))
    file = release.add("mirrored-1.0.tar.gz", ReleaseFile(
        "mirrored-1.0.tar.gz", packagetype="sdist", size=None, sha256=None))
    assert counts(repository) == (0, 0)
    file.store(Blob(b"12345"), "a" * 64, 5)
    assert counts(repository) == (1, 5)
    with pytest.raises(ValueError, match="stored already"):
        file.store(Blob(b"12345"), "a" * 64, 5)


def test_a_repository_from_before_the_counts_is_counted_once(repository, tm):
    project(repository, "demo", ("1.0", "demo-1.0.tar.gz"), ("2.0", "demo-2.0.tar.gz"))
    expected = counts(repository)
    del repository.stored_files, repository.stored_bytes  # as a database made before them
    assert ensure_stored_counts(repository)
    assert counts(repository) == expected
    assert not ensure_stored_counts(repository)
    tm.commit()
