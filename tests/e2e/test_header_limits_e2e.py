"""Header limits against the real waitress with production.ini's settings."""
from __future__ import annotations

import socket

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


def raw_get(port: int, headers: list[tuple[str, str]], target: str = "/simple/",
            method: str = "GET", body: bytes = b"") -> bytes:
    """Send one request with exactly these header lines (and body); the answer's bytes."""
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(head.encode("latin-1") + body)
        except OSError:  # the server answered and closed before reading it all
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:  # closed with our bytes unread: what came is the answer
            pass
    return answer


@pytest.mark.parametrize("headers", [
    [(f"X-Header-{i}", "v" * 1000) for i in range(100)],  # 100 kB in all
    [("X-Big", "a" * 70_000)],  # one header of 70 kB
], ids=["100-kB-in-all", "one-70-kB-header"])
def test_waitress_refuses_more_than_64_kib_of_headers_with_431(server, headers):
    answer = raw_get(server.port, headers)
    assert answer.split(b" ", 2)[1] == b"431", answer[:200]  # waitress says HTTP/1.0
    assert b"65536" in answer  # the limit is named


def test_a_header_line_over_8_kib_is_refused_with_431(server):
    answer = raw_get(server.port, [("X-Big", "a" * 10_000)])
    assert answer.startswith(b"HTTP/1.1 431 Header X-Big is "), answer[:200]


def test_a_thousand_headers_are_refused_with_431(server):
    answer = raw_get(server.port, [(f"X-H{i}", "v") for i in range(1000)])
    assert answer.startswith(b"HTTP/1.1 431 The request has 100"), answer[:200]


def test_headers_within_the_limits_are_answered(server):
    answer = raw_get(server.port, [(f"X-Header-{i}", "v" * 500) for i in range(90)])
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_a_percent_encoded_url_over_8_kib_is_refused_with_414(server):
    """waitress gives the URL as sent in REQUEST_URI: 24 KiB, though it decodes to 8000 bytes."""
    answer = raw_get(server.port, [], target="/simple/" + "%41" * 8000 + "/")
    assert answer.startswith(b"HTTP/1.1 414 The request's URL is 24009 bytes long"), answer[:200]


def test_an_anonymous_form_of_20_mb_is_refused_with_413_unread(server):
    body = b"username=" + b"a" * 20_000_000
    answer = raw_get(server.port, [("Content-Type", "application/x-www-form-urlencoded"),
                                   ("Content-Length", str(len(body)))],
                     target="/+login", method="POST", body=body)
    assert answer.startswith(b"HTTP/1.1 413 Request body too large: 20000009 bytes"), answer[:200]
