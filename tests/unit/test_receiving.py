"""Receiving an upload (shop/hosting/receiving.py): every digest of the bytes, whatever the
size of the chunks, and every form as its fields and one received file."""
import hashlib
import io
import os
from pathlib import Path

import pytest
from urllib3 import encode_multipart_formdata
from webob import Request

from shop.hosting.errors import UploadError
from shop.hosting.receiving import FileSink, ReceiveError, parse_form, receive_form
from tests.factories import distutils_body, make_sdist, make_wheel, upload_fields


@pytest.mark.parametrize("sizes", [[100, 2000], [1 << 20, 1 << 20, 5, 300_000]], ids=["small", "large"])
def test_the_file_and_its_digests_match_the_bytes_received(tmp_path, sizes):
    chunks = [os.urandom(n) for n in sizes]
    sink = FileSink("demo-1.0.tar.gz", str(tmp_path), max_size=10 << 20)
    for chunk in chunks:
        sink.write(chunk)
    received = sink.finish()

    data = b"".join(chunks)
    with open(received.path, "rb") as f:
        assert f.read() == data
    assert received.size == len(data)
    assert received.hashes == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(tmp_path):
    sink = FileSink("demo-1.0.tar.gz", str(tmp_path), max_size=1 << 20)
    sink.write(os.urandom(1 << 20))
    with pytest.raises(ReceiveError) as refused:
        sink.write(b"x")
    sink.abort()
    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []


# --- receive_form: every form comes out as its fields and one received file -------------------

MAX = 10 << 20


def digests(data: bytes) -> dict[str, str]:
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def post(body: bytes, content_type: str, query: str = "") -> Request:
    return Request.blank("/?" + query, method="POST", body=body, content_type=content_type)


def receive(request: Request, tmp_dir, max_size: int = MAX):
    """``receive_form`` as the upload view calls it."""
    return receive_form(
        request.body_file_seekable, request.headers.get("Content-Type", ""),
        request.content_length, str(tmp_dir), max_size,
        query=request.GET, lenient_params=lambda: request.POST,
    )


def twine_body(dist, **fields) -> tuple[bytes, str]:
    return encode_multipart_formdata(
        [*upload_fields(dist, **fields).items(), ("content", (dist.filename, dist.data))]
    )


def test_a_multipart_form_yields_its_fields_the_query_and_the_file(tmp_path):
    dist = make_wheel("demo", "1.0")
    request = post(*twine_body(dist, **{":action": None}), query=":action=file_upload")
    fields, received = receive(request, tmp_path)
    assert (fields["name"], fields[":action"]) == ("demo", "file_upload")
    assert "content" not in fields
    assert (received.filename, received.size, received.hashes) == (
        dist.filename, len(dist.data), digests(dist.data))
    assert list(tmp_path.iterdir()) == [Path(received.path)]


def test_a_loosely_framed_form_is_read_leniently_into_a_received_file(tmp_path):
    dist = make_sdist("demo", "1.0")
    body, content_type = distutils_body(dist)
    with pytest.raises(ReceiveError) as strict:  # the streaming parser refuses it
        parse_form(io.BytesIO(body), content_type, None, str(tmp_path), MAX)
    assert strict.value.status == 400
    fields, received = receive(post(body, content_type), tmp_path)
    assert (fields["name"], fields["md5_digest"]) == ("demo", dist.md5)
    assert "content" not in fields
    assert (received.filename, received.size, received.hashes) == (
        dist.filename, len(dist.data), digests(dist.data))
    with open(received.path, "rb") as f:
        assert f.read() == dist.data
    assert list(tmp_path.iterdir()) == [Path(received.path)]


def test_a_retried_loosely_framed_form_is_received_again(tmp_path):
    dist = make_sdist("demo", "1.0")
    request = post(*distutils_body(dist))
    _, first = receive(request, tmp_path)
    first.discard()
    _, again = receive(request, tmp_path)  # the lenient parse is cached in the environ
    assert (again.size, again.hashes) == (len(dist.data), digests(dist.data))


def test_an_oversize_file_in_a_loosely_framed_form_is_413_and_leaves_nothing(tmp_path):
    dist = make_sdist("demo", "1.0")
    with pytest.raises(UploadError, match="File too large") as refused:
        receive(post(*distutils_body(dist)), tmp_path, max_size=len(dist.data) - 1)
    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []


def test_an_oversize_file_in_a_multipart_form_is_413_and_leaves_nothing(tmp_path):
    dist = make_wheel("demo", "1.0", padding=5000)
    with pytest.raises(UploadError, match="File too large") as refused:
        receive(post(*twine_body(dist)), tmp_path, max_size=1000)
    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []


def test_a_loose_form_without_a_file_is_refused_as_the_streaming_parser_says(tmp_path):
    body, content_type = distutils_body(make_sdist("demo", "1.0"))
    body = body.replace(b'; filename="demo-1.0.tar.gz"', b"")  # the file is a plain field
    with pytest.raises(ReceiveError) as expected:
        parse_form(io.BytesIO(body), content_type, None, str(tmp_path), MAX)
    with pytest.raises(ReceiveError) as refused:
        receive(post(body, content_type), tmp_path)
    assert (refused.value.status, refused.value.message) == (400, expected.value.message)
    assert list(tmp_path.iterdir()) == []


def test_a_form_that_is_not_multipart_has_its_fields_and_no_file(tmp_path):
    request = post(b"name=demo&content=not+a+file", "application/x-www-form-urlencoded",
                   query=":action=file_upload")
    fields, received = receive(request, tmp_path)
    assert received is None
    assert (fields["name"], fields[":action"]) == ("demo", "file_upload")
    assert list(tmp_path.iterdir()) == []
