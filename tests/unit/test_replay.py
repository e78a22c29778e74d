"""Which requests may be answered again: anonymous GETs of pages, nothing else."""
from __future__ import annotations

import pytest

from shop.pages.replay import BYPASS, request_key


def environ(**kw) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/simple/demo/", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_ACCEPT": "text/html", **kw}


def test_an_anonymous_page_request_has_a_key_naming_what_its_answer_depends_on():
    key = request_key(environ())
    assert key is not None
    for other in (environ(PATH_INFO="/simple/other/"), environ(QUERY_STRING="format=json"),
                  environ(REMOTE_ADDR="10.0.0.1"), environ(HTTP_ACCEPT="application/json"),
                  environ(HTTP_ACCEPT_ENCODING="gzip"), environ(HTTP_HOST="elsewhere"),
                  environ(SCRIPT_NAME="/index"), environ(**{"wsgi.url_scheme": "https"})):
        assert request_key(other) not in (None, key)
    assert request_key(environ(HTTP_USER_AGENT="pip/25")) == key  # who the client is does not matter


@pytest.mark.parametrize("header", BYPASS)
def test_credentials_cookies_ranges_and_conditions_are_never_answered_again(header):
    assert request_key(environ(**{header: "x"})) is None


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "DELETE"])
def test_only_gets(method):
    assert request_key(environ(REQUEST_METHOD=method)) is None


def test_only_pages():
    assert request_key(environ(PATH_INFO="/simple/demo/1.0/demo-1.0.tar.gz")) is None
    assert request_key(environ(PATH_INFO="/simple/demo")) is None  # a 301 to the page
