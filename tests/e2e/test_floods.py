"""Connection floods against the shipped waitress settings: idle and slow clients starve no one."""
from __future__ import annotations

import http.client
import resource
import socket
import struct
import threading
import time
from contextlib import ExitStack, contextmanager

import pytest
import requests

from tests.e2e.clients import PYTHON, client_env, run
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel, upload_fields

pytestmark = [pytest.mark.e2e, pytest.mark.fault]

IDLE = 1000  # connections that send nothing at all
SLOW = 100  # connections that send a partial request line and headers, one byte at a time
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, "
              "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")


@contextmanager
def open_files_soft_limit(limit: int):
    """This process's (and its children's) soft limit of open files set to ``limit`` a while."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < limit:
        pytest.skip(f"the hard limit of open files ({hard}) is below the {limit} needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def shop(tmp_path):
    """A server started under the soft limit of 1024 open files many systems still default to."""
    with open_files_soft_limit(1024):
        server = LocalshopServer(tmp_path / "shop").start()
    try:
        yield server
    finally:
        server.stop()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    # Closed with a reset: a thousand sockets in TIME_WAIT would outlive the test.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return sock


@contextmanager
def flood(port: int):
    """``IDLE`` silent connections and ``SLOW`` ones that trickle a header; all closed after."""
    stop = threading.Event()
    with ExitStack() as stack:
        idle = [stack.enter_context(connect(port)) for _ in range(IDLE)]
        slow = [stack.enter_context(connect(port)) for _ in range(SLOW)]
        for sock in slow:
            sock.sendall(b"GET /simple/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        trickler = threading.Thread(target=_trickle, args=(slow, stop), daemon=True)
        trickler.start()
        stack.callback(trickler.join)
        stack.callback(stop.set)
        yield idle


def _trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(0.5):  # a byte every half second keeps each one "active"
        for sock in socks:
            try:
                sock.send(b"a")
            except OSError:
                pass  # the server may close a slow client: that is its right


def pip_page_request(port: int, path: str) -> tuple[int, float]:
    """GET a project page as pip asks for it, on a new connection: (status, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": PIP_ACCEPT, "User-Agent": "pip/26.0"})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def test_a_thousand_idle_and_a_hundred_slow_connections_do_not_delay_pip(shop, tmp_path):
    dist = make_wheel("flooded", "1.0")
    r = requests.post(shop.url + "/repo/default/", data=upload_fields(dist),
                      files={"content": (dist.filename, dist.data)},
                      auth=("admin", shop.admin_password), timeout=60)
    assert r.status_code == 200, r.text
    with open_files_soft_limit(IDLE + SLOW + 1024), flood(shop.port) as idle:
        time.sleep(1)  # let the server accept them all
        status, seconds = pip_page_request(shop.port, "/simple/flooded/")
        assert status == 200
        assert seconds < 1.0, f"the page took {seconds:.2f} s behind {IDLE + SLOW} connections"
        # The real client too, and the flood's connections were held open by the server:
        # the last idle ones still get an answer when they finally ask.
        run([PYTHON, "-m", "pip", "--isolated", "--disable-pip-version-check", "download",
             "--no-deps", "-d", tmp_path / "dl", "-i", shop.url + "/simple/", "flooded"],
            env=client_env(tmp_path / "home"), timeout=60)
        assert (tmp_path / "dl" / dist.filename).read_bytes() == dist.data
        for sock in idle[-3:]:
            sock.sendall(b"GET /simple/flooded/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
