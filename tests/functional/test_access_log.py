"""The access log middleware: one line per request, written by its own thread."""
from __future__ import annotations

import logging
import threading

import pytest
import webtest

from shop.accesslog import AccessLog, access_logged, note_user
from tests.conftest import basic_auth

ADMIN = ("admin", "admin-secret")


@pytest.fixture
def lines(caplog):
    """The access lines written so far (the writer is flushed first)."""
    logs = []

    def written() -> list[str]:
        for access_log in logs:
            access_log.close()
        return [r.getMessage() for r in caplog.records if r.name == "shop.accesslog"]

    caplog.set_level(logging.INFO, logger="shop.accesslog")
    written.new = lambda: logs.append(AccessLog()) or logs[-1]
    return written


def hello(environ, start_response):
    start_response("201 Created", [("Content-Type", "text/plain")])
    return [b"hello ", b"world"]


def test_a_line_has_address_user_request_status_bytes_duration_agent(lines):
    app = webtest.TestApp(access_logged(hello, lines.new()))
    app.get("/some/where?x=1", headers={"User-Agent": "pip/25.0"}, status=201,
            extra_environ={"REMOTE_ADDR": "10.1.2.3"})
    [line] = lines()
    assert line.startswith('10.1.2.3 - "GET /some/where?x=1" 201 11 ')
    assert line.endswith('ms "pip/25.0"')


def test_long_and_hostile_values_are_bounded_and_escaped(lines):
    app = webtest.TestApp(access_logged(hello, lines.new()))
    app.get("/" + "a" * 5000, headers={"User-Agent": 'evil"\n\x1b[31m' + "b" * 500}, status=201)
    [line] = lines()
    assert len(line) < 1400 and "\n" not in line and "\x1b" not in line
    assert 'evil\\"\\x0a\\x1b[31m' in line


def test_the_file_wrapper_is_passed_through_and_its_close_writes_the_line(lines):
    class FileWrapper:  # waitress sends its own type with sendfile: it must stay that type
        closed = False

        def __init__(self, f, block_size=8192):
            self.f = f

        def close(self):
            self.closed = True

    def sending(environ, start_response):
        start_response("200 OK", [("Content-Length", "4096")])
        return environ["wsgi.file_wrapper"](None)

    app = access_logged(sending, lines.new())
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/f.whl", "wsgi.file_wrapper": FileWrapper}
    body = app(environ, lambda status, headers, exc_info=None: None)
    assert type(body) is FileWrapper
    body.close()
    assert body.closed
    [line] = lines()
    assert '"GET /f.whl" 200 4096 ' in line


def test_a_failing_application_is_logged_as_500(lines):
    def failing(environ, start_response):
        raise RuntimeError("boom")

    app = webtest.TestApp(access_logged(failing, lines.new()))
    with pytest.raises(RuntimeError):
        app.get("/")
    [line] = lines()
    assert '"GET /" 500 0 ' in line


def test_nothing_is_queued_when_the_logger_is_off(caplog):
    caplog.set_level(logging.WARNING, logger="shop.accesslog")
    access_log = AccessLog()
    webtest.TestApp(access_logged(hello, access_log)).get("/", status=201)
    assert access_log.queue.empty()
    access_log.close()


def test_the_user_is_logged_and_the_password_is_not(make_app, lines):
    app = webtest.TestApp(access_logged(make_app().app, lines.new()))
    app.get("/simple/", headers=basic_auth(*ADMIN))
    app.get("/simple/")
    logged = lines()
    assert [line.split()[1] for line in logged] == ["admin", "-"]
    assert not any("admin-secret" in line or "Basic" in line for line in logged)


def test_noting_the_user_never_computes_an_identity():
    class Policy:
        class identity_cache:
            @staticmethod
            def get(request):
                return object()  # pyramid's NO_VALUE: nothing computed

        def identity(self, request):
            raise AssertionError("the log asked for the identity")

    class Request:
        environ: dict = {}
        registry = type("Registry", (), {"queryUtility": lambda self, iface: Policy()})()

    note_user(type("Event", (), {"request": Request()})())
    assert Request.environ == {}


def test_a_log_that_cannot_keep_up_costs_lines_not_memory():
    """A destination that blocks (a full pipe): the queue stays bounded, drops are counted."""
    release, messages = threading.Event(), []

    class Blocking(logging.Handler):
        def emit(self, record):
            release.wait(10)
            messages.append(record.getMessage())

    logger = logging.getLogger("tests.accesslog.blocking")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(Blocking())
    access_log = AccessLog(logger, size=1)
    app = webtest.TestApp(access_logged(hello, access_log))
    for _ in range(6):
        app.get("/", status=201)
    assert access_log.queue.qsize() <= 1 and access_log.dropped >= 4
    release.set()
    access_log.close()
    assert any(m.endswith("access lines dropped: the log could not keep up") for m in messages)


def test_the_queue_holds_a_few_strings_not_the_request():
    """Never the environ: its Authorization header and its body's file would wait in memory."""
    release = threading.Event()

    class Blocking(logging.Handler):
        def emit(self, record):
            release.wait(10)

    logger = logging.getLogger("tests.accesslog.held")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(Blocking())
    access_log = AccessLog(logger, size=10)
    app = webtest.TestApp(access_logged(hello, access_log))
    for _ in range(3):  # the first is taken by the blocked writer, the others wait queued
        app.post("/up", b"x" * 1000, headers=basic_auth(*ADMIN), status=201)
    waiting = list(access_log.queue.queue)
    release.set()
    access_log.close()
    assert waiting
    for entry in waiting:
        assert not any(isinstance(v, dict) for v in entry), entry
        fields, *rest = entry
        assert all(isinstance(v, (str, int, float, type(None))) for v in (*fields, *rest)), entry
        assert ADMIN[1] not in repr(entry)
        assert basic_auth(*ADMIN)["Authorization"].split()[1] not in repr(entry)
