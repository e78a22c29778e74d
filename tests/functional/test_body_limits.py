"""Bodies outside uploads: over 1 MiB a 413, over 1000 form fields a 400, before anything reads
them (the CSRF check parsed any anonymous body whole, up to waitress's 1 GiB)."""
from __future__ import annotations

import time

import pytest

from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, uploaded

pytestmark = pytest.mark.fault

MAX_BODY = 1024 * 1024  # shop/views/bodies.py; README
MAX_FIELDS = 1000
FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("content_type", [FORM, "multipart/form-data; boundary=x",
                                          "text/plain", "application/json"])
@pytest.mark.parametrize(("url", "headers"), [("/+login", {}), ("/+logout", {}),
                                              ("/+users", ADMIN), ("/repo/default/+settings", ADMIN),
                                              ("/", {})])
def test_a_body_over_1_mib_is_a_413_naming_the_limit_unread(app, url, headers, content_type):
    body = b"username=" + b"a" * (20 * MAX_BODY)
    started = time.process_time()
    r = app.request(url, method="POST", body=body, headers=headers, content_type=content_type,
                    expect_errors=True)
    assert r.status == (f"413 Request body too large: {len(body)} bytes; at most {MAX_BODY}"
                        " are accepted outside uploads.")
    assert f"at most {MAX_BODY}" in r.text
    assert time.process_time() - started < 2  # was 19 s of parsing for 20 MB


def test_a_body_of_1_mib_is_read(app):
    r = app.post("/+login", b"x=" + b"a" * (MAX_BODY - 2), content_type=FORM, expect_errors=True)
    assert r.status_int == 400 and "CSRF" in r.text  # the CSRF check read it, and said why


@pytest.mark.parametrize("content_type", [FORM, "multipart/form-data; boundary=b"])
def test_a_form_over_1000_fields_is_a_400_naming_the_limit(app, content_type):
    if content_type == FORM:
        body = b"&".join(b"f%d=1" % i for i in range(MAX_FIELDS + 1))
    else:
        part = b'--b\r\nContent-Disposition: form-data; name="f"\r\n\r\n1\r\n'
        body = part * (MAX_FIELDS + 1) + b"--b--\r\n"
    r = app.request("/+login", method="POST", body=body, content_type=content_type,
                    expect_errors=True)
    assert r.status == f"400 Too many form fields: at most {MAX_FIELDS} are accepted."


def test_a_form_of_1000_fields_is_read(app):
    body = b"&".join(b"f%d=1" % i for i in range(MAX_FIELDS))
    r = app.post("/+login", body, content_type=FORM, expect_errors=True)
    assert r.status_int == 400 and "CSRF" in r.text


def test_an_upload_over_1_mib_is_still_accepted(app):
    dist = make_wheel("bigbody", "1.0", padding=2 * MAX_BODY)
    uploaded(app, dist)
    app.get("/simple/bigbody/", status=200)
