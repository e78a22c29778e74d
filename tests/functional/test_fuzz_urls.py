"""Generated URLs and forms against the real app: never a 5xx, never a write from a read,
and nothing under a private repository but its refusal for an anonymous client."""
from __future__ import annotations

import base64
import io
import json
import sys
from dataclasses import dataclass
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes, urljoin, urlsplit

import pytest
import webtest
from hypothesis import given
from hypothesis import strategies as st

from shop import main
from shop.model import audit, events, repositories
from shop.model.names import version_key
from shop.storage import database, databases
from tests.conftest import ADMIN_PASSWORD, app_settings, basic_auth
from tests.factories import make_wheel, upload_fields
from tests.functional.conftest import ANONYMOUS_READ, JSON, database_root
from tests.storecheck import settled

pytestmark = pytest.mark.fault

ADMIN = basic_auth("admin", ADMIN_PASSWORD)
DEMO = make_wheel("demo", "1.0")
WORDS = ["..", ".", "", "+browse", "+settings", "+yank", "+delete", "+owners", "+login",
         "+static", "+users", "json", "simple", "pypi", "repo", "default", "private", "demo",
         "Demo", "DEMO", "1.0", version_key("1.0"), DEMO.filename, DEMO.filename + ".metadata",
         "%00", "%ff", "%c0%ae", "%2F", "%2e%2e", "a" * 300]
# A segment: a word the app knows, random bytes or text percent-encoded, or text as it is.
SEGMENTS = st.one_of(
    st.sampled_from(WORDS),
    st.binary(max_size=12).map(lambda b: quote_from_bytes(b, safe="")),
    st.text(max_size=12).map(lambda t: quote(t, safe="")),
    st.text(st.characters(codec="ascii", exclude_characters="/?#%"), max_size=8),
)
QUERIES = st.one_of(
    st.just(""),
    st.lists(st.tuples(st.sampled_from(["format", "q", "came_from", ":action", "page", "x"]),
                       st.one_of(SEGMENTS, st.sampled_from(["text/html", "application/json"]))),
             max_size=3).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.binary(max_size=16).map(lambda b: quote_from_bytes(b, safe="=&")),
    # As a server hands over raw bytes: latin-1 text, not percent-encoded.
    st.text(st.characters(codec="latin-1", exclude_characters="#"), max_size=12),
)
PATHS = st.lists(SEGMENTS, max_size=6).map(lambda segments: "/" + "/".join(segments))
# Conditional headers with dates in and out of range, or not dates at all.
DATES = st.builds(
    lambda header, day, year: {header: f"Mon, {day:02d} Jan {year} 00:00:00 GMT"},
    st.sampled_from(["If-Modified-Since", "If-Unmodified-Since", "If-Range"]),
    st.integers(0, 99), st.integers(0, 10**20),
) | st.builds(lambda header, text: {header: text},
              st.sampled_from(["If-Modified-Since", "If-Unmodified-Since", "If-Range"]),
              st.text(st.characters(codec="latin-1"), max_size=30))
CALLERS = st.sampled_from([
    {}, ADMIN, basic_auth("admin", "wrong"), {"Authorization": "Basic %%%"},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xc0").decode()},
    {"Cookie": "localshop_session=\xff; x=\x00"},
    {"Accept": "\xff/\xfe; q=x, */*;q=2"}, {"Accept-Encoding": "\xff, gzip;q=-1"},
]) | DATES


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """An app with ``demo`` 1.0 in the open ``default`` and in repository ``private``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCALSHOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        # The dashboard's counts are written every shop.stats.interval: not within this test.
        wsgi = main({}, **app_settings(tmp_path_factory.mktemp("var"), **ANONYMOUS_READ,
                                       **{"shop.stats.interval": "86400"}))
    app = webtest.TestApp(wsgi)
    with database_root(app) as root:
        repositories.add_repository(root, "private")
    for url in ("/repo/default/", "/repo/private/"):
        app.post(url, upload_fields(DEMO), headers=ADMIN,
                 upload_files=[("content", DEMO.filename, DEMO.data)], status=200)
    yield app
    for db in databases(wsgi.registry):
        db.close()


@dataclass
class Answer:
    status: str
    headers: dict
    body: bytes

    @property
    def status_int(self) -> int:
        return int(self.status.split()[0])


def request(app, method: str, url: str, headers: dict, body: bytes = b"",
            content_type: str = "") -> Answer:
    """Call the WSGI application with the environ a server makes of this request.

    Not through WebTest: it decodes the path as UTF-8 itself, to show the URL of an answer.
    """
    # The login throttle would soon refuse the admin's password too: count no failures here.
    app.app.registry.shop.passwords.throttle.succeeded("admin", None)
    path, _, query = url.partition("?")
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "QUERY_STRING": query,
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"), "SERVER_NAME": "localhost",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False,
        "wsgi.run_once": False, "CONTENT_LENGTH": str(len(body)),
    }
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    started = []
    result = app.app(environ, lambda status, headers, exc_info=None: started.append(
        (status, dict(headers))))
    try:
        data = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return Answer(started[0][0], started[0][1], data)


@given(path=PATHS, query=QUERIES, method=st.sampled_from(["GET", "HEAD"]), headers=CALLERS)
def test_reads_never_fail_and_never_write(fuzzed, path, query, method, headers):
    """... except the audit log's entry of a failed login, which the writer adds after it."""
    db = database(fuzzed.app.registry)
    settled(fuzzed)  # a failed login of the example before: recorded by now
    before, entries = db.lastTransaction(), audit_kinds(fuzzed)
    url = path + ("?" + query if query else "")
    response = request(fuzzed, method, url, headers)
    assert response.status_int < 500, (url, response.status)
    settled(fuzzed)
    if db.lastTransaction() != before:
        assert set(audit_kinds(fuzzed)[len(entries):]) == {events.LOGIN_FAILED}, url


def audit_kinds(app) -> list[str]:
    with database_root(app) as root:
        return [entry.kind for entry in audit.log_of(root).since()]


@given(rest=st.lists(SEGMENTS.filter(lambda s: s not in ("..", ".", "%2e%2e")), max_size=4),
       query=QUERIES, method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]))
def test_under_a_private_repository_an_anonymous_client_gets_only_the_refusal(
        fuzzed, rest, query, method):
    url = "/repo/private/" + "/".join(rest) + ("?" + query if query else "")
    response = request(fuzzed, method, url, {})
    if response.status_int == 400:
        assert "is not valid UTF-8" in response.status, (url, response.status)
        return
    assert response.status_int in (401, 302, 303), (url, response.status)
    if response.status_int == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


# The CSRF-checked forms as well as the paths: the check parses any anonymous body.
@given(path=PATHS | st.sampled_from(["/+login", "/+logout", "/+users"]),
       body=st.one_of(st.binary(max_size=64), QUERIES.map(lambda q: q.encode("latin-1"))),
       content_type=st.sampled_from(["application/x-www-form-urlencoded",
                                     "application/x-www-form-urlencoded; charset=latin-1",
                                     "multipart/form-data; boundary=x", "text/plain",
                                     "multipart/form-data", "multipart/form-data; boundary="]))
def test_anonymous_posts_never_fail_and_never_write(fuzzed, path, body, content_type):
    db = database(fuzzed.app.registry)
    before = db.lastTransaction()
    response = request(fuzzed, "POST", path, {}, body=body, content_type=content_type)
    assert response.status_int < 500, (path, body, response.status)
    assert db.lastTransaction() == before, path


@given(index=st.integers(0, 3), headers=DATES, ranged=st.booleans())
def test_conditional_requests_never_fail(fuzzed, index, headers, ranged):
    """The pages and files that answer conditionally, under any date, with or without a Range."""
    page = request(fuzzed, "GET", "/simple/demo/", {"Accept": JSON})
    file = urlsplit(urljoin("http://localhost/simple/demo/", json.loads(page.body)["files"][0]["url"]))
    url = ["/simple/", "/simple/demo/", file.path, file.path + ".metadata"][index]
    response = request(fuzzed, "GET", url, {**headers, **({"Range": "bytes=0-1"} if ranged else {})})
    assert response.status_int < 500, (url, headers, response.status)
