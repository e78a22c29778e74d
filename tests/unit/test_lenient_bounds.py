"""Bare-``\\n`` (distutils) upload forms get every limit a CRLF form gets, read as they stream;
only such forms are read that way (shop/hosting/receiving.py, shop/hosting/reframing.py)."""
import io

import pytest
from urllib3 import encode_multipart_formdata
from webob import Request

from shop.hosting.receiving import (
    FIELD_LIMIT, FORM_LIMIT, MAX_PARTS, PART_HEADERS_LIMIT, TOO_MANY_PARTS, ReceiveError, parse_form, receive_form,
)
from shop.hosting.reframing import CRLFFramed
from tests.factories import Dist, distutils_body, make_sdist, make_wheel, upload_fields

pytestmark = pytest.mark.fault
MAX = 10 << 20
BOUNDARY = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class CountingBody(io.BytesIO):
    """A request body that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.bytes_read += len(data)
        return data


def receive(body: io.BytesIO, content_type: str, tmp_path):
    """``receive_form`` as the upload view calls it, on a request whose body is ``body``."""
    request = Request.blank("/", method="POST", content_type=content_type)
    request.environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(len(body.getvalue())),
                            "webob.is_body_seekable": True})
    return receive_form(body, content_type, request.content_length, str(tmp_path), MAX,
                        query=request.GET, lenient_params=lambda: request.POST)


def bare_parts(count: int, header: str = "") -> bytes:
    part = f'\n--{BOUNDARY}\nContent-Disposition: form-data; name="a"{header}\n\nx'.encode()
    return part * count + f"\n--{BOUNDARY}--\n".encode()


def test_a_bare_newline_body_of_many_tiny_parts_is_refused_before_its_end(tmp_path):
    body = CountingBody(bare_parts(MAX_PARTS * 5))
    with pytest.raises(ReceiveError) as refused:
        receive(body, CONTENT_TYPE, tmp_path)
    assert (refused.value.status, refused.value.message) == (400, TOO_MANY_PARTS)
    assert body.bytes_read < len(body.getvalue()) // 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("header", ["\nX-Pad: " + "p" * 9000,
                                    "".join(f"\nX-{n}: 1" for n in range(PART_HEADERS_LIMIT + 1))])
def test_over_long_part_headers_in_a_bare_newline_form_are_413_as_in_crlf(tmp_path, header):
    loose = bare_parts(3, header)
    with pytest.raises(ReceiveError) as strict:
        receive(io.BytesIO(loose.replace(b"\n", b"\r\n")), CONTENT_TYPE, tmp_path)
    with pytest.raises(ReceiveError) as refused:
        receive(io.BytesIO(loose), CONTENT_TYPE, tmp_path)
    assert strict.value.status == 413
    assert (refused.value.status, refused.value.message) == (413, strict.value.message)
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_crlf_form_is_refused_as_the_streaming_parser_says(tmp_path):
    dist = make_wheel("demo", "1.0")
    body, content_type = encode_multipart_formdata(
        [*upload_fields(dist).items(), ("content", (dist.filename, dist.data))])
    body = body[:body.rindex(b"\r\n--")]  # no closing boundary: cgi would read it anyway
    with pytest.raises(ReceiveError) as expected:
        parse_form(io.BytesIO(body), content_type, None, str(tmp_path), MAX)
    with pytest.raises(ReceiveError) as refused:
        receive(io.BytesIO(body), content_type, tmp_path)
    assert (refused.value.status, refused.value.message) == (400, expected.value.message)
    assert "Incomplete upload form" in refused.value.message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
def test_reframing_keeps_the_files_own_bytes_whatever_the_chunks(tmp_path, chunk):
    sdist = make_sdist("demo", "1.0")
    # The file's own line breaks, and a near-boundary, at its end where a boundary follows.
    data = sdist.data + b"\r\n--x\n\n\r\r\n--" + BOUNDARY[:-1].encode() + b"\r"
    body, content_type = distutils_body(Dist(sdist.filename, data, sdist.name, sdist.version))
    reframed = CRLFFramed(io.BytesIO(body), BOUNDARY.encode(), None, chunk)
    fields, received = parse_form(reframed, content_type, None, str(tmp_path), MAX)
    with open(received.path, "rb") as f:
        assert f.read() == data
    assert fields["name"] == "demo"
    received.discard()


# --- a form without a file part (urlencoded): looked at before WebOb parses it whole -----------

def receive_small(data: bytes, tmp_path, parsed: list):
    """``receive_form`` on an urlencoded body; ``parsed`` records each lenient parse."""
    request = Request.blank("/", method="POST", body=data,
                            content_type="application/x-www-form-urlencoded")

    def lenient():
        parsed.append(True)
        return request.POST
    return receive_form(request.body_file_seekable, request.content_type,
                        request.content_length, str(tmp_path), MAX, query=request.GET,
                        lenient_params=lenient)


def test_an_urlencoded_form_of_too_many_fields_is_refused_before_it_is_parsed(tmp_path):
    parsed = []
    with pytest.raises(ReceiveError) as refused:
        receive_small(b"a=1&" * (MAX_PARTS + 1), tmp_path, parsed)
    assert (refused.value.status, refused.value.message, parsed) == (400, TOO_MANY_PARTS, [])


def test_an_urlencoded_form_over_the_form_limit_is_413_before_it_is_parsed(tmp_path):
    parsed = []
    with pytest.raises(ReceiveError) as refused:
        receive_small(b"description=" + b"x" * FORM_LIMIT, tmp_path, parsed)
    assert (refused.value.status, parsed) == (413, [])
    assert f"at most {FORM_LIMIT} bytes" in refused.value.message


def test_an_urlencoded_form_within_the_limits_is_read(tmp_path):
    fields, received = receive_small(b"name=demo&" * 100 + b"a=" + b"x" * FIELD_LIMIT, tmp_path, [])
    assert (fields["name"], len(fields["a"]), received) == ("demo", FIELD_LIMIT, None)
