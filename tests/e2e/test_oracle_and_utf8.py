"""Against the real server: a private index answers alike for a project that exists and one
that does not; bytes that are not UTF-8 in a URL are a 400 through waitress too."""
from __future__ import annotations

import base64
import http.client
import urllib.request
from urllib.parse import quote

import pytest

from tests.e2e.server import LocalshopServer
from tests.factories import distutils_body, make_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


@pytest.fixture(scope="module")
def private(tmp_path_factory) -> LocalshopServer:
    """A server whose repository ``default`` is private, holding ``e2e-secret`` 1.0."""
    with LocalshopServer(tmp_path_factory.mktemp("localshop"),
                         settings={"shop.default.anonymous_read": "false"}) as server:
        body, content_type = distutils_body(make_wheel("e2e-secret", "1.0"))
        token = base64.b64encode(f"admin:{server.admin_password}".encode()).decode()
        request = urllib.request.Request(server.url + "/simple/", data=body, headers={
            "Content-Type": content_type, "Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        yield server


def raw_get(server: LocalshopServer, target: str) -> tuple[int, str]:
    """GET a request target exactly as given (bytes and all), as a client may send it."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.reason
    finally:
        connection.close()


@pytest.mark.parametrize(("target", "part"), [
    ("/simple/%ff/", "path"), ("/repo/default/%c0%ae%c0%ae/", "path"),
    ("/simple/?format=%ff", "query string"), ("/repo/default/+browse?q=%ff", "query string"),
])
def test_a_url_that_is_not_utf8_is_a_400_that_says_so(private, target, part):
    status, reason = raw_get(private, target)
    assert (status, reason.split(";")[0]) == (400, f"Bad request: the {part} is not valid UTF-8")


@pytest.mark.parametrize(("method", "there", "made_up"), [
    ("GET", "/simple/e2e-secret/", "/simple/e2e-made-up/"),
    ("GET", "/simple/E2E_Secret/", "/simple/E2E_Made_Up/"),
    ("HEAD", "/simple/E2E_Secret/", "/simple/E2E_Made_Up/"),
    ("GET", "/pypi/e2e-secret/1.0/json", "/pypi/e2e-made-up/1.0/json"),
    ("GET", "/simple/e2e-secret/+browse", "/simple/e2e-made-up/+browse"),
])
def test_a_private_index_answers_alike_for_a_project_that_exists_and_one_that_does_not(
        private, method, there, made_up):
    def answer(target: str) -> tuple:
        connection = http.client.HTTPConnection("127.0.0.1", private.port, timeout=10)
        try:
            connection.request(method, target)
            response = connection.getresponse()
            body = response.read().replace(target.encode(), b"<path>").replace(
                quote(target, safe="").encode(), b"<path>")
            location = (response.getheader("Location") or "").replace(
                quote(target, safe=""), "<path>")
            return (response.status, response.reason.replace(target, "<path>"), location,
                    response.getheader("WWW-Authenticate"), body)
        finally:
            connection.close()

    assert answer(there)[0] in (401, 302)
    assert answer(there) == answer(made_up)
