"""Property tests of the upload form against the real app (issue 11): generated field values,
framing and truncation. Never a 5xx; a refused upload stores nothing and leaves no file."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.hosting import forms
from shop.hosting.receiving import FILE_FIELD
from shop.model import names
from tests.factories import make_sdist, make_wheel, upload_fields
from tests.functional.conftest import ADMIN, received_leftovers, tree_counts, upload

pytestmark = pytest.mark.fault

WHEEL = make_wheel("demo", "1.0")
SDIST = make_sdist("demo", "1.0")
BOUNDARY = "fuzzfuzzfuzz0123456789"
FIELDS = ("name", "version", "filetype", "pyversion", "metadata_version", "summary",
          "description", "description_content_type", "requires_python", "sha256_digest",
          "md5_digest", "blake2_256_digest", "protocol_version", ":action", "license")
MULTI = ("classifiers", "requires_dist", "project_urls", "provides_extra")

# Text a form can carry (no lone surrogates: they cannot be encoded), now and then huge.
texts = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.sampled_from(["", " ", "demo", "1.0", "0" * 64, "../x", "demo\x00", "Démo", "１.0"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["d", "é", "0", "\n"]),
              st.sampled_from([200, 201, 513, 4097, 70_000])),
)
filenames = st.one_of(
    texts,
    st.sampled_from([WHEEL.filename, SDIST.filename, "demo-1.0.tar.gz", "demo-1.0.zip",
                     "demo-1.0-py3-none-any.whl", ".whl", "demo-1.0-" + "x" * 300 + ".whl"]),
)


STRIPPED = ("name", "version", "sha256_digest", "md5_digest", "blake2_256_digest")
SHORT = ("filetype", "pyversion", "protocol_version", ":action") + STRIPPED[2:]


def limit_of(key: str) -> int:
    """The length limit of a form field, in characters."""
    if key == "name":
        return names.MAX_NAME_LENGTH
    if key == "version":
        return names.MAX_VERSION_LENGTH
    if key in SHORT:
        return forms.SHORT_LENGTH
    return forms.FIELD_LENGTHS.get(key, forms.FIELD_LENGTH)


def over_a_limit(overrides: dict, multi: dict, filename: str | None) -> bool:
    """Whether the generated form has a field (as the server reads it) over its limit."""
    return (
        any(len(v.strip() if k in STRIPPED else v) > limit_of(k) for k, v in overrides.items())
        or any(len(v) > limit_of(k) for k, values in multi.items() for v in values)
        or filename is not None and len(filename) > names.MAX_FILENAME_LENGTH
    )


def check_outcome(app, response, before) -> None:
    """The properties every upload keeps, whatever it sent."""
    assert response.status_int < 500, response.status
    if response.status_int >= 400:
        assert response.status.split(" ", 1)[1]  # a reason phrase saying what was wrong
        assert tree_counts(app) == before
    assert received_leftovers(app) == []


@given(overrides=st.dictionaries(st.sampled_from(FIELDS), texts, max_size=4),
       multi=st.dictionaries(st.sampled_from(MULTI), st.lists(texts, max_size=5), max_size=2),
       filename=st.none() | filenames, dist=st.sampled_from([WHEEL, SDIST]))
def test_generated_field_values_never_fail_the_server_nor_leave_state(app, overrides, multi,
                                                                      filename, dist):
    before = tree_counts(app)
    response = upload(app, dist, filename=filename, **overrides, **multi)
    check_outcome(app, response, before)
    if over_a_limit(overrides, multi, filename):
        assert response.status_int in (400, 413), response.status


def framed(fields: dict, filename: str, data: bytes, newline: bytes) -> bytes:
    """A multipart body of ``fields`` and the file, every framing line ended by ``newline``."""
    sep = b"--" + BOUNDARY.encode()
    body = b""
    for key, value in fields.items():
        body += (sep + newline + f'Content-Disposition: form-data; name="{key}"'.encode()
                 + newline + newline + value.encode() + newline)
    body += (sep + newline + f'Content-Disposition: form-data; name="{FILE_FIELD}"; '
             f'filename="{filename}"'.encode() + newline + newline + data + newline)
    return body + sep + b"--" + newline


@given(dist=st.sampled_from([WHEEL, SDIST]), newline=st.sampled_from([b"\r\n", b"\n"]),
       cut=st.none() | st.floats(0, 1), garbage=st.none() | st.tuples(st.floats(0, 1), st.binary(max_size=20)),
       content_type=st.sampled_from([f"multipart/form-data; boundary={BOUNDARY}",
                                     "multipart/form-data", "multipart/form-data; boundary=other",
                                     "application/x-www-form-urlencoded", "text/plain"]))
def test_malformed_framing_and_truncated_bodies_never_fail_the_server_nor_leave_state(
        app, dist, newline, cut, garbage, content_type):
    body = framed(upload_fields(dist), dist.filename, dist.data, newline)
    if garbage is not None:
        at = int(garbage[0] * len(body))
        body = body[:at] + garbage[1] + body[at:]
    if cut is not None:
        body = body[: int(cut * len(body))]
    before = tree_counts(app)
    response = app.request("/simple/", method="POST", body=body, headers=ADMIN,
                           content_type=content_type, expect_errors=True)
    check_outcome(app, response, before)
