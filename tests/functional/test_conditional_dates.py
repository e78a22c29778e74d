"""Conditional headers whose date is not a valid HTTP-date are ignored (RFC 9110), never a 500."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.factories import make_wheel
from tests.functional.conftest import JSON, uploaded

pytestmark = pytest.mark.fault

BAD_DATES = ["Mon, 01 Jan 10000 00:00:00 GMT", "Mon, 01 Jan 0000 00:00:00 GMT",
             "Mon, 99 Jan 2020 00:00:00 GMT", "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"]
HEADERS = ["If-Modified-Since", "If-Unmodified-Since", "If-Range"]


@pytest.fixture
def urls(app) -> list[str]:
    """The simple pages, a file and its .metadata."""
    uploaded(app, make_wheel("dated", "1.0"))
    file = app.get("/simple/dated/", headers={"Accept": JSON}).json["files"][0]["url"]
    path = urlsplit(urljoin("http://localhost/simple/dated/", file)).path
    return ["/simple/", "/simple/dated/", path, path + ".metadata"]


@pytest.mark.parametrize("date", BAD_DATES)
@pytest.mark.parametrize("header", HEADERS)
def test_a_conditional_header_that_is_not_a_date_is_ignored(app, urls, header, date):
    """Answered as if it were not there (If-Range is read only along with a Range; a date
    WebOb reads but that matches nothing may also send the whole, as RFC 9110 allows)."""
    extra = {"Range": "bytes=0-1"} if header == "If-Range" else {}
    for url in urls:
        whole, plain = app.get(url), app.get(url, headers=extra)
        response = app.get(url, headers={header: date, **extra})
        assert (response.status, response.body) in {(plain.status, plain.body),
                                                    (whole.status, whole.body)}, url
