"""Forms as Python 2.7's distutils framed them (issue 11): bare ``\\n`` line breaks, read for
``:action=submit`` (old ``register``) and ``:action=file_upload`` alike, the file's own bytes kept."""
from __future__ import annotations

import io
import zipfile

import pytest

from shop.hosting.uploads import SUBMITTED
from tests.factories import Dist, distutils_body, distutils_register_body, make_wheel
from tests.functional.conftest import (
    ADMIN, Counts, assert_nothing_stored, file_url,
    project_files, tree_counts,
)

pytestmark = pytest.mark.fault


def post(app, body: bytes, content_type: str):
    return app.request("/simple/", method="POST", body=body, headers=ADMIN, expect_errors=True,
                       content_type=content_type)


def test_register_with_bare_newlines_is_the_no_op_200(app):
    r = post(app, *distutils_register_body("demo", "1.0"))
    assert (r.status_int, r.text) == (200, SUBMITTED + "\n")
    assert_nothing_stored(app)


def test_register_with_bare_newlines_and_crlf_answer_alike(app):
    body, content_type = distutils_register_body("demo", "1.0")
    loose = post(app, body, content_type)
    strict = post(app, body.replace(b"\n", b"\r\n"), content_type)
    assert (loose.status, loose.text) == (strict.status, strict.text)


def with_comment(dist: Dist, comment: bytes) -> Dist:
    """``dist`` (a wheel) with a zip comment: bytes of the file's own at its very end."""
    buffer = io.BytesIO(dist.data)
    with zipfile.ZipFile(buffer, "a") as zf:
        zf.comment = comment
    return Dist(dist.filename, buffer.getvalue(), dist.name, dist.version)


def test_a_wheel_with_its_own_line_breaks_in_a_bare_newline_form_keeps_its_bytes(app):
    wheel = with_comment(make_wheel("demo", "1.0"), b"a\r\nb\nc\n\n--x\r\n\r\nd\n")
    r = post(app, *distutils_body(wheel))
    assert r.status_int == 200, r.status
    assert tree_counts(app) == Counts(1, 1, 1)
    listed = project_files(app, "demo")[wheel.filename]
    assert listed["hashes"]["sha256"] == wheel.sha256
    assert app.get(file_url("demo", listed)).body == wheel.data


def test_a_bare_newline_form_of_fields_only_for_file_upload_is_400_missing_content(app):
    body, content_type = distutils_register_body("demo", "1.0")
    body = body.replace(b"\n\nsubmit", b"\n\nfile_upload")
    r = post(app, body, content_type)
    assert r.status_int == 400
    assert "Missing 'content'" in r.status and "Missing 'content'" in r.text
    assert_nothing_stored(app)


def test_a_bare_newline_form_with_an_over_long_part_header_is_413_as_a_crlf_one(app):
    body, content_type = distutils_body(make_wheel("demo", "1.0"))
    body = body.replace(b'name="name"\n', b'name="name"\nX-Pad: ' + b"p" * 9000 + b"\n", 1)
    loose = post(app, body, content_type)
    strict = post(app, body.replace(b"\n", b"\r\n"), content_type)
    assert loose.status_int == 413 and "header lines" in loose.status
    assert (loose.status, loose.text) == (strict.status, strict.text)
    assert_nothing_stored(app)
