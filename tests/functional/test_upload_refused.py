"""Uploads that must be refused: the status, a reason phrase that says why, and nothing stored."""
from __future__ import annotations

import pytest

from tests.factories import Dist, make_sdist, make_wheel, make_zip, metadata_text, upload_fields

from tests.functional.conftest import (
    ADMIN,
    ANONYMOUS_READ,
    Counts,
    assert_nothing_stored,
    project_files,
    tree_counts,
    upload,
)

WHEEL = make_wheel("demo", "1.0")
WHEEL_NAME = WHEEL.filename
SDIST = make_sdist("demo", "1.0")


@pytest.fixture(scope="module")
def empty(shared_app):
    """One app for the whole matrix: every case must leave it empty."""
    return shared_app


# Each case: (dist, upload() keyword arguments, reason phrase fragment); all answer 400.
BAD_FORMS = {
    "missing content": (WHEEL, {"content": False}, "Missing 'content'"),
    "missing name": (WHEEL, {"name": None}, "Missing 'name'"),
    "empty name": (WHEEL, {"name": ""}, "Missing 'name'"),
    "missing version": (WHEEL, {"version": None}, "Missing 'version'"),
    "invalid name": (WHEEL, {"name": "demo!"}, "Invalid project name 'demo!'"),
    "name with a space": (WHEEL, {"name": "de mo"}, "Invalid project name 'de mo'"),
    "invalid version": (WHEEL, {"version": "one"}, "Invalid version 'one'"),
    "filename of another project": (WHEEL, {"name": "other"}, "is for project 'demo', not 'other'"),
    "filename of another version": (WHEEL, {"version": "2.0"}, "is for version 1.0, not 2.0"),
    "unknown filetype": (WHEEL, {"filetype": "bdist_egg"}, "Unknown filetype 'bdist_egg'"),
    "missing filetype": (WHEEL, {"filetype": None}, "Unknown filetype None"),
    "filetype of an sdist for a wheel": (WHEEL, {"filetype": "sdist"}, "does not match the filename"),
    "wrong sha256": (WHEEL, {"sha256_digest": "0" * 64}, "Wrong sha256_digest"),
    "wrong md5": (WHEEL, {"md5_digest": "0" * 32}, "Wrong md5_digest"),
    "wrong blake2_256": (WHEEL, {"blake2_256_digest": "0" * 64}, "Wrong blake2_256_digest"),
    "no digest": (WHEEL, {"sha256_digest": None, "md5_digest": None}, "Missing digest"),
    "not a distribution": (Dist("demo-1.0.exe", b"MZ", "demo", "1.0"), {"filetype": "sdist"},
                           "a distribution is a wheel (.whl) or an sdist"),
    "a wheel filename without tags": (Dist("demo-1.0.whl", WHEEL.data, "demo", "1.0"), {},
                                      "Invalid wheel filename"),
    "a wheel that is not a zip": (Dist(WHEEL_NAME, b"not a zip" * 10, "demo", "1.0"), {},
                                  "it is not a zip archive"),
    "a wheel with no METADATA": (make_zip(WHEEL_NAME, {"demo/__init__.py": b""}), {},
                                 "no demo-1.0.dist-info/METADATA"),
    "a wheel with METADATA of another project": (
        make_wheel("demo", "1.0", metadata=metadata_text("other", "1.0")), {},
        "its METADATA names project 'other'"),
    "a wheel with METADATA of another version": (
        make_wheel("demo", "1.0", metadata=metadata_text("demo", "1.1")), {},
        "its METADATA says version '1.1'"),
    "an sdist that is not gzip": (Dist("demo-1.0.tar.gz", b"not gzip" * 10, "demo", "1.0"), {},
                                  "not a gzipped tar archive"),
    "a zip sdist that is not a zip": (Dist("demo-1.0.zip", b"not a zip" * 10, "demo", "1.0"), {},
                                      "it is not a zip archive"),
    "an empty file": (Dist("demo-1.0.tar.gz", b"", "demo", "1.0"), {}, "Empty file"),
    "a parent path": (WHEEL, {"filename": "../" + WHEEL_NAME}, "has no path"),
    "a directory": (WHEEL, {"filename": "a/" + WHEEL_NAME}, "has no path"),
    "a windows path": (WHEEL, {"filename": "a\\" + WHEEL_NAME}, "has no path"),
    "a hidden file": (WHEEL, {"filename": "." + WHEEL_NAME}, "has no path"),
    "a NUL": (WHEEL, {"filename": "demo-1.0-py3-none-any\x00.whl"}, "control characters"),
    "an escape": (WHEEL, {"filename": "demo-1.0-py3-none-any\x1b.whl"}, "control characters"),
    "a DEL": (WHEEL, {"filename": "demo-1.0-py3-none-any\x7f.whl"}, "control characters"),
    "a tab": (WHEEL, {"filename": "demo-1.0-py3\t-none-any.whl"}, "control characters"),
    "unknown action": (WHEEL, {":action": "remove_pkg"}, "Unknown :action 'remove_pkg'"),
    "missing action": (WHEEL, {":action": None}, "Missing ':action'"),
    "protocol version 2": (WHEEL, {"protocol_version": "2"}, "Unsupported protocol_version '2'"),
}


@pytest.mark.parametrize(("dist", "kwargs", "reason"), BAD_FORMS.values(), ids=BAD_FORMS.keys())
def test_bad_uploads_are_400_with_a_reason_and_store_nothing(empty, dist, kwargs, reason):
    assert_nothing_stored(empty)
    r = upload(empty, dist, **kwargs)
    assert r.status_int == 400, r.status
    assert reason in r.status
    assert reason in r.text  # the body says it too, for clients that show only the body
    assert_nothing_stored(empty)


def test_an_oversize_upload_is_413_and_stores_nothing(make_app):
    app = make_app(**ANONYMOUS_READ, **{"shop.max_upload_size": "1000"})
    wheel = make_wheel("demo", "1.0", padding=2000)
    r = upload(app, wheel)
    assert r.status_int == 413
    assert "too large" in r.status and "shop.max_upload_size" in r.status
    assert_nothing_stored(app)


def test_a_file_within_the_size_limit_is_accepted(make_app):
    app = make_app(**ANONYMOUS_READ, **{"shop.max_upload_size": "1000"})
    assert upload(app, SDIST).status_int == 200


def test_a_form_that_is_not_multipart_is_400_missing_content(empty):
    r = empty.post("/simple/", upload_fields(SDIST), headers=ADMIN, expect_errors=True)
    assert r.status_int == 400 and "Missing 'content'" in r.status
    assert_nothing_stored(empty)


def test_content_sent_as_a_plain_field_is_400_missing_content(empty):
    r = empty.post("/simple/", dict(upload_fields(SDIST), content="not a file"), headers=ADMIN,
                   expect_errors=True)
    assert r.status_int == 400 and "Missing 'content'" in r.status
    assert_nothing_stored(empty)


def test_a_malformed_multipart_body_is_400(empty):
    r = empty.request("/simple/", method="POST", body=b"garbage", headers=ADMIN, expect_errors=True,
                      content_type="multipart/form-data")
    assert r.status_int == 400 and "form" in r.status  # says the form is what is wrong
    assert_nothing_stored(empty)


def test_an_upload_to_an_unknown_repository_is_404(empty):
    r = upload(empty, SDIST, url="/repo/nothing/")
    assert r.status_int == 404
    assert_nothing_stored(empty)


# --- a failure next to what exists -------------------------------------------------------------


@pytest.mark.parametrize(("dist", "kwargs"), [
    (SDIST, {"md5_digest": "0" * 32}),  # a new file of the existing release
    (Dist("demo-1.0.tar.gz", b"not gzip" * 10, "demo", "1.0"), {}),
    (make_wheel("demo", "2.0", metadata=metadata_text("other", "2.0")), {}),  # a new release
    (make_sdist("demo", "2.0"), {"version": "3.0"}),
    (make_wheel("demo", "1.0", requires_python=">=3"), {}),  # same filename, other bytes
], ids=["bad digest", "broken sdist", "broken wheel of a new version", "version mismatch",
        "changed bytes"])
def test_a_failed_upload_to_an_existing_project_keeps_its_files(app, dist, kwargs):
    assert upload(app, WHEEL).status_int == 200
    before = project_files(app, "demo")
    r = upload(app, dist, **kwargs)
    assert r.status_int == 400
    assert tree_counts(app) == Counts(1, 1, 1)
    assert project_files(app, "demo") == before
    assert app.get(f"/simple/demo/{before[WHEEL_NAME]['url']}").body == WHEEL.data
