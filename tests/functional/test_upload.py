"""The upload API as twine and ``setup.py upload`` use it: what each reply is."""
from __future__ import annotations

import gc

import pytest

from tests.conftest import basic_auth
from tests.factories import make_sdist, make_wheel

from tests.functional.conftest import (
    ADMIN,
    Counts,
    assert_nothing_stored,
    database_root,
    distutils_upload,
    json_page,
    project_files,
    project_names,
    tree_counts,
    upload,
    uploaded,
)


def test_upload_stores_the_file_and_answers_200(app):
    wheel = make_wheel("Foo_Bar", "1.0")
    r = upload(app, wheel)
    assert r.status_int == 200
    assert r.text == "Stored foo_bar-1.0-py3-none-any.whl in default.\n"
    assert tree_counts(app) == Counts(1, 1, 1)
    assert project_names(app) == ["foo-bar"]
    assert list(project_files(app, "foo-bar")) == [wheel.filename]


def test_the_project_keeps_the_name_as_uploaded_for_display(app):
    uploaded(app, make_sdist("Foo_Bar", "1.0"))
    with database_root(app) as root:
        assert root.repositories["default"]["foo-bar"].name == "Foo_Bar"


def test_reupload_of_identical_file_is_a_no_op(app):
    wheel = make_wheel("demo", "1.0")
    uploaded(app, wheel)
    before = project_files(app, "demo")
    r = upload(app, wheel)
    assert r.status_int == 200 and "already stored" in r.text
    assert tree_counts(app) == Counts(1, 1, 1)
    assert project_files(app, "demo") == before  # same upload-time: nothing was replaced


def test_same_filename_with_other_bytes_is_400_file_already_exists(app):
    uploaded(app, make_wheel("demo", "1.0"))
    changed = make_wheel("demo", "1.0", requires_python=">=3.9")
    r = upload(app, changed)
    assert r.status_int == 400
    assert r.status.startswith("400 File already exists: demo-1.0-py3-none-any.whl")
    assert "already exist" in r.status  # what older twine's --skip-existing looks for
    assert tree_counts(app) == Counts(1, 1, 1)
    assert project_files(app, "demo")["demo-1.0-py3-none-any.whl"]["hashes"]["sha256"] != changed.sha256


def test_a_second_file_of_a_release_joins_it(app):
    uploaded(app, make_wheel("demo", "1.0"), make_sdist("demo", "1.0"))
    assert tree_counts(app) == Counts(1, 1, 2)
    assert json_page(app, "/simple/demo/").json["versions"] == ["1.0"]


def test_a_new_version_is_a_new_release(app):
    uploaded(app, make_sdist("demo", "1.0"), make_sdist("demo", "1.1"))
    assert tree_counts(app) == Counts(1, 2, 2)
    assert json_page(app, "/simple/demo/").json["versions"] == ["1.0", "1.1"]


def test_submit_is_accepted_as_a_no_op(app):
    r = upload(app, make_sdist("demo", "1.0"), content=False, **{":action": "submit"})
    assert r.status_int == 200
    assert_nothing_stored(app)


def test_doc_upload_is_gone(app):
    r = upload(app, make_sdist("demo", "1.0"), **{":action": "doc_upload"})
    assert r.status_int == 410
    assert "Documentation upload is not supported" in r.status
    assert_nothing_stored(app)


def test_action_may_come_in_the_query_string(app):
    r = upload(app, make_sdist("demo", "1.0"), url="/repo/default/?:action=file_upload",
               **{":action": None})
    assert r.status_int == 200
    assert tree_counts(app) == Counts(1, 1, 1)


def test_distutils_upload_with_bare_newlines_and_md5_only_is_stored(app):
    wheel, sdist = make_wheel("demo", "1.0"), make_sdist("demo", "1.0")
    for dist in (wheel, sdist):
        r = distutils_upload(app, dist)
        assert r.status_int == 200, r.status
    assert tree_counts(app) == Counts(1, 1, 2)
    files = project_files(app, "demo")
    assert {name: f["hashes"]["sha256"] for name, f in files.items()} == {
        wheel.filename: wheel.sha256, sdist.filename: sdist.sha256}


def test_protocol_version_may_be_left_out(app):
    assert upload(app, make_sdist("demo", "1.0"), protocol_version=None).status_int == 200


@pytest.mark.parametrize("url", ["/simple/", "/repo/default/", "/repo/default", "/simple"])
def test_uploads_to_the_index_urls_go_to_default_without_redirect(app, url):
    r = upload(app, make_sdist("demo", "1.0"), url=url)
    assert r.status_int == 200  # never a redirect: twine aborts on one
    assert project_names(app) == ["demo"]


@pytest.mark.parametrize(("digest", "value"), [
    ("md5_digest", "md5"), ("sha256_digest", "sha256"), ("blake2_256_digest", "blake2_256"),
])
def test_one_matching_digest_is_enough(app, digest, value):
    sdist = make_sdist("demo", "1.0")
    fields = {"md5_digest": None, "sha256_digest": None, digest: getattr(sdist, value)}
    assert upload(app, sdist, **fields).status_int == 200


def test_digests_may_be_upper_case(app):
    sdist = make_sdist("demo", "1.0")
    assert upload(app, sdist, sha256_digest=sdist.sha256.upper()).status_int == 200


def test_requires_python_and_summary_come_from_the_form(app):
    uploaded(app, make_sdist("demo", "1.0"), requires_python=">=3.10", summary="Short")
    info = app.get("/pypi/demo/json").json["info"]
    assert (info["requires_python"], info["summary"]) == (">=3.10", "Short")


def test_an_upload_without_credentials_is_challenged(app):
    r = upload(app, make_sdist("demo", "1.0"), headers=None)
    assert r.status_int == 401
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert "Authentication required" in r.status
    assert_nothing_stored(app)


@pytest.mark.parametrize("auth", [basic_auth("admin", "wrong"), basic_auth("nobody", "secret")])
def test_an_upload_with_wrong_credentials_is_401(app, auth):
    r = upload(app, make_sdist("demo", "1.0"), headers=auth)
    assert r.status_int == 401
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="')
    assert "Invalid credentials" in r.status
    assert_nothing_stored(app)


def test_upload_answers_in_plain_text(app):
    r = upload(app, make_sdist("demo", "1.0"))
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = upload(app, make_sdist("demo", "1.0"), name=None)
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text.startswith("Missing 'name'")


def test_a_large_upload_leaves_no_unclosed_temporary_file(app):
    r = upload(app, make_wheel("demo", "1.0", padding=20_000))
    assert r.status_int == 200
    del r
    gc.collect()  # an unclosed file warns here; warnings are errors


def test_the_uploader_can_read_back_with_the_same_credentials(app):
    sdist = make_sdist("demo", "1.0")
    uploaded(app, sdist)
    assert app.get("/simple/demo/1/demo-1.0.tar.gz", headers=ADMIN).body == sdist.data
