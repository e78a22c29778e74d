"""A real upstream index on loopback: PEP 691 JSON and PEP 503 HTML pages, real files, faults.

Tests (and benchmarks) use it as the mirror's upstream: it records every request in
``log`` and can misbehave on purpose (hang, fail, truncate, corrupt, serve garbage).
"""
from __future__ import annotations

import gzip
import hashlib
import html
import io
import socket
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

JSON_V1 = "application/vnd.pypi.simple.v1+json"


@dataclass
class UpstreamFile:
    filename: str
    data: bytes
    version: str
    requires_python: str | None = None
    yanked: bool | str = False
    upload_time: str = "2024-01-02T03:04:05.000000Z"
    metadata: bytes | None = None  # a wheel's METADATA, advertised as core-metadata
    provenance: bytes | None = None  # a provenance object (PEP 740), advertised (relative)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Fault:
    """How to misbehave for one path: kind is hang, error, truncate, corrupt, garbage, html
    (200 with ``body`` as text/html: a captive portal's page, say), slow,
    bomb (a page gzip-encoded, ``size`` bytes decoded), longer (a file with ``size`` more
    bytes than listed), unsized (a file without Content-Length, read to the close) or late
    (the right answer, after ``seconds``: a distant upstream)."""

    kind: str
    seconds: float = 0.0  # hang, late: how long; slow: delay between chunks
    status: int = 500
    times: int | None = None  # misbehave this many times, then behave (None: always)
    size: int = 0  # bomb: the page's decoded size; longer: the bytes past the file's own
    body: bytes = b""  # html: the page


@dataclass
class FakeIndex:
    projects: dict[str, list[UpstreamFile]] = field(default_factory=dict)
    json_pages: bool = True  # False: answer HTML only, as old indexes do
    # PEP 792: project -> (status, reason or None), as the pages say it (any string: a test
    # may send a status no PEP names).
    statuses: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def set_status(self, name: str, status: str | None, reason: str | None = None) -> None:
        """Give project ``name`` a PEP 792 status (None: say none)."""
        if status is None:
            self.statuses.pop(canonicalize_name(name), None)
        else:
            self.statuses[canonicalize_name(name)] = (status, reason)

    @classmethod
    def of(cls, *dists) -> "FakeIndex":
        """An index of these tests.factories.Dists, each in the project it names."""
        index = cls()
        for dist in dists:
            index.add(dist.name, dist)
        return index

    def add(self, name: str, dist, **kw) -> UpstreamFile:
        """Add a tests.factories.Dist (wheel or sdist) to project ``name``."""
        metadata = kw.pop("metadata", None)
        if metadata is None and dist.filename.endswith(".whl"):
            metadata = _wheel_metadata(dist.data)
        f = UpstreamFile(dist.filename, dist.data, dist.version, metadata=metadata, **kw)
        self.projects.setdefault(canonicalize_name(name), []).append(f)
        return f

    def file(self, filename: str) -> UpstreamFile | None:
        for files in self.projects.values():
            for f in files:
                if f.filename == filename:
                    return f
        return None


def _wheel_metadata(data: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name)


class UpstreamServer:
    """A threaded HTTP server serving a FakeIndex under /simple/ and /files/."""

    def __init__(self, index: FakeIndex | None = None, host: str = "127.0.0.1", port: int = 0):
        self.index = index or FakeIndex()
        self.faults: dict[str, Fault] = {}
        self.log: list[tuple[str, str]] = []  # (method, path)
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> "UpstreamServer":
        server = _Server((self._host, self._port), _handler(self))
        server.daemon_threads = True
        self._port = server.server_address[1]  # keep the port: a restart comes back on it
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection: upstream is gone."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}/simple/"

    # --- what happened --------------------------------------------------------------------

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self.log.append((method, path))

    def count(self, path_suffix: str) -> int:
        """How many GETs asked for a path ending in ``path_suffix``."""
        with self._lock:
            return sum(1 for m, p in self.log if m == "GET" and p.endswith(path_suffix))

    def counts(self) -> Counter:
        with self._lock:
            return Counter(p for m, p in self.log if m == "GET")

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for suffix, fault in list(self.faults.items()):
                if path.endswith(suffix):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self.faults[suffix]
                    return fault
        return None


class _Server(ThreadingHTTPServer):
    """Remembers its connections, so that stopping really disconnects keep-alive clients."""

    allow_reuse_address = True

    def __init__(self, *args, **kw):
        self.connections: set = set()
        super().__init__(*args, **kw)

    def process_request(self, request, client_address):
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        for sock in list(self.connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _handler(upstream: UpstreamServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY every keep-alive
        # answer waits for the client's delayed ACK (about 40 ms).
        disable_nagle_algorithm = True

        def log_message(self, *args):  # quiet: the test reads upstream.log instead
            pass

        def do_GET(self):
            path = unquote(urlsplit(self.path).path)
            upstream.record("GET", path)
            fault = upstream.take_fault(path)
            if fault is not None and fault.kind == "hang":
                time.sleep(fault.seconds)
                self.close_connection = True
                return
            if fault is not None and fault.kind == "late":
                time.sleep(fault.seconds)
                fault = None
            if fault is not None and fault.kind == "error":
                return self._send(fault.status, b"upstream trouble\n", "text/plain")
            if path.startswith("/simple/"):
                return self._page(path, fault)
            if path.startswith("/files/"):
                return self._file(path[len("/files/"):], fault)
            self._send(404, b"not found\n", "text/plain")

        def _page(self, path: str, fault: Fault | None):
            if fault is not None and fault.kind == "garbage":
                return self._send(200, b'{"meta": {"api-version": "1.1"}, "files": [', JSON_V1)
            if fault is not None and fault.kind == "html":  # another server's page
                return self._send(200, fault.body, "text/html")
            if fault is not None and fault.kind == "bomb":
                return self._send(200, _gzip_of_spaces(fault.size), JSON_V1, encoding="gzip")
            project = canonicalize_name(path[len("/simple/"):].strip("/"))
            files = upstream.index.projects.get(project)
            if files is None:
                return self._send(404, b"no such project\n", "text/plain")
            wants_json = upstream.index.json_pages and "json" in self.headers.get("Accept", "")
            render = _json_page if wants_json else _html_page
            body, content_type = render(project, files, upstream.index.statuses.get(project))
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", content_type, etag=etag)
            self._send(200, body, content_type, etag=etag)

        def _file(self, name: str, fault: Fault | None):
            if name.endswith(".provenance"):
                f = upstream.index.file(name[: -len(".provenance")])
                if f is None or f.provenance is None:
                    return self._send(404, b"no such provenance\n", "text/plain")
                return self._send(200, f.provenance, "application/json")
            metadata = name.endswith(".metadata")
            f = upstream.index.file(name[: -len(".metadata")] if metadata else name)
            if f is None or (metadata and f.metadata is None):
                return self._send(404, b"no such file\n", "text/plain")
            data = f.metadata if metadata else f.data
            if fault is None:
                return self._send(200, data, "application/octet-stream")
            if fault.kind == "corrupt":
                return self._send(200, bytes([data[0] ^ 0xFF]) + data[1:], "application/octet-stream")
            if fault.kind == "longer":
                return self._send(200, data + b"x" * fault.size, "application/octet-stream")
            if fault.kind == "unsized":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if fault.kind == "truncate":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            # slow: the file in chunks, with a pause between them
            step = max(1, len(data) // 20)
            for i in range(0, len(data), step):
                self.wfile.write(data[i: i + step])
                self.wfile.flush()
                time.sleep(fault.seconds)

        def _send(self, status: int, body: bytes, content_type: str, etag: str | None = None,
                  encoding: str | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    return Handler


def _status_meta(status: tuple[str, str | None] | None) -> str:
    """PEP 792's meta tags in an HTML page's head."""
    if status is None:
        return ""
    tags = f'<meta name="pypi:project-status" content="{html.escape(status[0])}">'
    if status[1] is not None:
        tags += f'<meta name="pypi:project-status-reason" content="{html.escape(status[1])}">'
    return tags


def _gzip_of_spaces(size: int) -> bytes:
    """A gzip stream that decodes to ``size`` spaces, compressed a thousandfold."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as f:
        block = b" " * (1 << 20)
        for start in range(0, size, len(block)):
            f.write(block[: size - start])
    return out.getvalue()


def _json_page(project: str, files: list[UpstreamFile],
               status: tuple[str, str | None] | None = None) -> tuple[bytes, str]:
    data = {
        "meta": {"api-version": "1.4"},
        "name": project,
        "versions": sorted({f.version for f in files}),
        "files": [
            {
                "filename": f.filename,
                "url": f"../../files/{f.filename}",
                "hashes": {"sha256": f.sha256},
                "requires-python": f.requires_python,
                "size": len(f.data),
                "upload-time": f.upload_time,
                "yanked": f.yanked,
                "core-metadata": (
                    {"sha256": hashlib.sha256(f.metadata).hexdigest()} if f.metadata else False
                ),
                **({"provenance": f"../../files/{f.filename}.provenance"} if f.provenance else {}),
            }
            for f in files
        ],
    }
    if status is not None:
        data["project-status"] = {"status": status[0],
                                  **({"reason": status[1]} if status[1] is not None else {})}
    return json.dumps(data).encode(), JSON_V1


def _html_page(project: str, files: list[UpstreamFile],
               status: tuple[str, str | None] | None = None) -> tuple[bytes, str]:
    links = []
    for f in files:
        attrs = f'href="../../files/{f.filename}#sha256={f.sha256}"'
        if f.requires_python:
            attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
        if f.yanked:
            reason = f.yanked if isinstance(f.yanked, str) else ""
            attrs += f' data-yanked="{html.escape(reason)}"'
        if f.metadata:
            attrs += f' data-core-metadata="sha256={hashlib.sha256(f.metadata).hexdigest()}"'
        if f.provenance:
            attrs += f' data-provenance="../../files/{f.filename}.provenance"'
        links.append(f"<a {attrs}>{f.filename}</a><br>")
    body = (
        "<!DOCTYPE html><html><head>"
        '<meta name="pypi:repository-version" content="1.4">'
        + _status_meta(status) + "</head><body>"
        + "".join(links) + "</body></html>"
    )
    return body.encode(), "text/html"


# --- appended for the mirror's tests: upstream's progress, in this process's clock ----------


class TimedUpstreamServer(UpstreamServer):
    """An UpstreamServer that also records its progress on each GET, and stops promptly.

    ``finished`` holds ``(time.monotonic(), path)`` for every answer upstream has completed
    (sent or given up on); ``body_sent(path)`` says how many body bytes it has written so
    far for that path. A test can so order upstream's progress against what a client saw,
    without asserting on absolute timings.

    One more fault: ``Fault("corrupt", seconds=s)`` sends the corrupted file slowly (in
    pieces, as "slow" does), so a mirror streams most of it before it can know.
    """

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.finished: list[tuple[float, str]] = []
        self._sent: Counter = Counter()

    def start(self) -> "TimedUpstreamServer":
        server = _Server((self._host, self._port), _timed_handler(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        # A short poll: stop() (shutdown) waits for serve_forever to notice, 0.5 s by default.
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def finished_at(self, path_suffix: str) -> list[float]:
        """When upstream finished answering GETs of paths ending in ``path_suffix``."""
        with self._lock:
            return [t for t, p in self.finished if p.endswith(path_suffix)]

    def body_sent(self, path_suffix: str) -> int:
        """Body bytes written so far, over all GETs of paths ending in ``path_suffix``."""
        with self._lock:
            return sum(n for p, n in self._sent.items() if p.endswith(path_suffix))


class _CountingWriter:
    """Wraps a handler's ``wfile``: counts what is written once the headers are out."""

    def __init__(self, raw, handler, upstream: TimedUpstreamServer):
        self._raw, self._handler, self._upstream = raw, handler, upstream

    def write(self, data):
        written = self._raw.write(data)
        if self._handler.body_started:
            with self._upstream._lock:
                self._upstream._sent[self._handler.current_path] += len(data)
        return written

    def __getattr__(self, name):
        return getattr(self._raw, name)


def _timed_handler(upstream: TimedUpstreamServer):
    base = _handler(upstream)

    class Handler(base):
        def setup(self):
            super().setup()
            self.wfile = _CountingWriter(self.wfile, self, upstream)

        def end_headers(self):
            super().end_headers()  # writes the buffered headers: not counted
            self.body_started = True

        def _file(self, name: str, fault: Fault | None):
            f = upstream.index.file(name)
            if fault is None or fault.kind != "corrupt" or not fault.seconds or f is None:
                return super()._file(name, fault)
            data = bytes([f.data[0] ^ 0xFF]) + f.data[1:]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            step = max(1, len(data) // 20)
            for i in range(0, len(data), step):
                self.wfile.write(data[i: i + step])
                self.wfile.flush()
                time.sleep(fault.seconds)

        def do_GET(self):
            self.current_path = unquote(urlsplit(self.path).path)
            self.body_started = False
            try:
                super().do_GET()
            finally:
                with upstream._lock:
                    upstream.finished.append((time.monotonic(), self.current_path))

    return Handler
