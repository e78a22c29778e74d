"""Publishing an upload (shop/hosting/publishing.py) into a Repository, with real commits."""
from __future__ import annotations

import hashlib

import pytest

from shop.hosting.errors import UploadError
from shop.model.root import app_root
from tests.factories import Dist, make_sdist, make_wheel, make_zip, metadata_text

from tests.unit.conftest import other_connection, publish_as, upload_form


def stored(db, project: str, version_key: str, filename: str):
    """Read a committed file's facts through a fresh connection."""
    conn = other_connection(db)
    try:
        file = app_root(conn).repositories["default"][project][version_key][filename]
        with file.blob.open("r") as f:
            data = f.read()
        metadata = None
        if file.core_metadata is not None:
            with file.core_metadata.open("r") as f:
                metadata = f.read()
        return file.sha256, file.size, data, metadata, file.core_metadata_sha256
    finally:
        conn.close()


def test_publish_creates_package_release_and_file(db, repository, tm):
    dist = make_wheel("Foo_Bar", "1.0")
    result = publish_as(repository, upload_form(dist))
    tm.commit()
    assert result.created
    package = repository["foo-bar"]
    assert package.name == "Foo_Bar" and package.hosted
    assert list(package) == ["1"] and package["1"].version == "1.0"
    file = package["1"][dist.filename]
    assert (file.uploader, file.packagetype, file.python_version) == ("admin", "bdist_wheel", "py3")
    sha256, size, data, _, _ = stored(db, "foo-bar", "1", dist.filename)
    assert (sha256, size, data) == (dist.sha256, len(dist.data), dist.data)


def test_release_metadata_comes_from_the_form(repository):
    dist = make_sdist("demo", "1.0")
    form = upload_form(dist, metadata={"summary": "Hi", "requires_python": ">=3.9",
                                       "classifiers": ["A :: B", "C :: D"]})
    result = publish_as(repository, form)
    release = repository["demo"]["1"]
    assert release.metadata == {"summary": "Hi", "requires_python": ">=3.9",
                                "classifiers": ["A :: B", "C :: D"], "name": "demo", "version": "1.0"}
    assert result.file.requires_python == ">=3.9" and result.file.python_version == "source"


def test_identical_reupload_is_a_no_op(repository, tm):
    dist = make_wheel("demo", "1.0")
    first = publish_as(repository, upload_form(dist))
    tm.commit()
    again = publish_as(repository, upload_form(dist))
    assert not again.created and again.file is first.file
    assert "already stored" in again.message
    assert len(repository) == 1 and len(repository["demo"]) == 1 and len(repository["demo"]["1"]) == 1


def test_same_filename_with_other_bytes_raises_file_already_exists(repository, tm):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    changed = make_wheel("demo", "1.0", requires_python=">=3.9")
    with pytest.raises(UploadError) as raised:
        publish_as(repository, upload_form(changed))
    assert raised.value.status == 400
    assert raised.value.message.startswith("File already exists: demo-1.0-py3-none-any.whl")


def test_second_file_of_a_version_joins_the_release(repository):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    publish_as(repository, upload_form(make_sdist("demo", "1.0.0")))
    assert list(repository["demo"]) == ["1"]
    assert sorted(repository["demo"]["1"]) == ["demo-1.0-py3-none-any.whl", "demo-1.0.0.tar.gz"]
    assert repository["demo"]["1"].version == "1.0"  # the first file's spelling


def test_wheel_metadata_is_extracted_at_upload(db, repository, tm):
    dist = make_wheel("demo", "1.0", requires_python=">=3.8")
    expected = metadata_text("demo", "1.0", requires_python=">=3.8").encode()
    file = publish_as(repository, upload_form(dist)).file
    tm.commit()
    assert file.core_metadata_sha256 == hashlib.sha256(expected).hexdigest()
    assert file.core_metadata_size == len(expected)
    *_, metadata, metadata_sha256 = stored(db, "demo", "1", dist.filename)
    assert metadata == expected and metadata_sha256 == hashlib.sha256(expected).hexdigest()


def test_sdists_get_no_core_metadata(repository):
    file = publish_as(repository, upload_form(make_sdist("demo", "1.0"))).file
    assert file.core_metadata is None and file.core_metadata_sha256 is None


@pytest.mark.parametrize("digests", [
    {"md5": None}, {"blake2_256": None}, {"sha256": None, "md5": None, "blake2_256": None},
])
def test_any_matching_digest_is_enough(repository, digests):
    dist = make_sdist("demo", "1.0")
    actual = {"sha256": dist.sha256, "md5": dist.md5, "blake2_256": dist.blake2_256}
    given = {algo: actual[algo] for algo in digests}
    assert publish_as(repository, upload_form(dist, digests=given)).created


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"content": None}, "Missing 'content'"),
    ({"name": None}, "Missing 'name'"),
    ({"version": None}, "Missing 'version'"),
    ({"name": "demo!"}, "Invalid project name"),
    ({"version": "one"}, "Invalid version"),
    ({"name": "other"}, "is for project 'demo', not 'other'"),
    ({"version": "2.0"}, "is for version 1.0, not 2.0"),
    ({"filetype": "bdist_egg"}, "Unknown filetype 'bdist_egg'"),
    ({"filetype": "sdist"}, "does not match the filename"),
    ({"digests": {}}, "Missing digest"),
    ({"digests": {"sha256": "0" * 64}}, "Wrong sha256_digest"),
    ({"filename": "../demo-1.0-py3-none-any.whl"}, "has no path"),
    ({"filename": "demo\x00-1.0-py3-none-any.whl"}, "control characters"),
])
def test_bad_uploads_raise_upload_error_and_add_nothing(repository, overrides, reason):
    with pytest.raises(UploadError, match=reason) as raised:
        publish_as(repository, upload_form(make_wheel("demo", "1.0"), **overrides))
    assert raised.value.status == 400
    assert len(repository) == 0


def test_oversize_upload_raises_413(repository):
    dist = make_wheel("demo", "1.0", padding=5000)
    with pytest.raises(UploadError, match="File too large") as raised:  # while it is received
        publish_as(repository, upload_form(dist, max_size=1000))
    assert raised.value.status == 413 and len(repository) == 0


def test_a_file_of_exactly_the_maximum_size_is_accepted(repository):
    dist = make_sdist("demo", "1.0")
    assert publish_as(repository, upload_form(dist, max_size=len(dist.data))).created


def test_failed_upload_to_an_existing_release_keeps_its_files(repository, tm):
    wheel = make_wheel("demo", "1.0")
    publish_as(repository, upload_form(wheel))
    tm.commit()
    broken = make_sdist("demo", "1.0")
    with pytest.raises(UploadError):
        publish_as(repository, upload_form(broken, digests={"md5": "0" * 32}))
    assert list(repository["demo"]["1"]) == [wheel.filename]


WHEEL = "demo-1.0-py3-none-any.whl"


@pytest.mark.parametrize(("dist", "reason"), [
    (Dist(WHEEL, b"not a zip", "demo", "1.0"), "is not a zip archive"),
    (make_zip(WHEEL, {"demo/__init__.py": b""}), r"no demo-1.0.dist-info/METADATA"),
    (make_zip(WHEEL, {"other-1.0.dist-info/METADATA": metadata_text("other", "1.0").encode()}),
     r"no demo-1.0.dist-info/METADATA"),
    (make_wheel("demo", "1.0", metadata=metadata_text("other", "1.0")),
     "its METADATA names project 'other'"),
    (make_wheel("demo", "1.0", metadata=metadata_text("demo", "2.0")),
     "its METADATA says version '2.0'"),
    (make_wheel("demo", "1.0", metadata="Summary: no name\n"), "its METADATA names project None"),
    (Dist("demo-1.0.tar.gz", b"not gzip", "demo", "1.0"), "not a gzipped tar archive"),
    (Dist("demo-1.0.zip", b"not a zip", "demo", "1.0"), "it is not a zip archive"),
    (Dist("demo-1.0.tar.gz", b"", "demo", "1.0"), "Empty file"),
])
def test_files_that_are_not_what_their_name_says_are_refused(repository, dist, reason):
    with pytest.raises(UploadError, match=reason):
        publish_as(repository, upload_form(dist))
    assert len(repository) == 0


def test_a_zip_sdist_is_accepted(repository):
    dist = make_zip("demo-1.0.zip", {"demo-1.0/PKG-INFO": metadata_text("demo", "1.0").encode()})
    file = publish_as(repository, upload_form(dist)).file
    assert file.packagetype == "sdist" and file.core_metadata is None
