"""The loopback upstream for the mirror scenarios: tests/upstream.py's server, plus a root page.

``tests.upstream.UpstreamServer`` serves project pages (PEP 503 HTML and PEP 691 JSON) and files
from memory; devpi's mirror also reads the upstream's project list (``/simple/``) before it
asks for a project, so the benchmark's upstream answers that too, as a real index does.

On loopback a round trip is free, which flatters a mirror that asks the upstream many small
questions one after the other. ``delay_ms`` holds back the first byte of every answer (as a
distant index's round trip would) and ``bandwidth_mbps`` paces every body at that many MB/s
(decimal), so ``run.py --upstream-delay 30 --upstream-bandwidth 20`` makes the loopback
upstream look like a real one on the other side of a network.
"""
from __future__ import annotations

import threading
import time
from urllib.parse import unquote, urlsplit

from tests.factories import Dist
from tests.upstream import JSON_V1, FakeIndex, UpstreamServer, _handler, _Server

from . import fixtures


class BenchUpstream(UpstreamServer):
    """An UpstreamServer whose ``/simple/`` lists its projects; without delay unless asked."""

    delay_ms: float = 0.0  # before the first byte of every answer
    bandwidth_mbps: float = 0.0  # MB/s cap on every body; 0: as fast as loopback goes

    def start(self) -> "BenchUpstream":
        base = _handler(self)
        index = self.index
        delay = self.delay_ms / 1000
        rate = self.bandwidth_mbps * 1e6

        class Handler(base):
            # TCP_NODELAY: http.server writes the headers and the body separately, and on a
            # keep-alive connection Nagle's algorithm then holds the body back until the client's
            # delayed ACK (40 ms): pip straight from the upstream took 2.2 s instead of 0.47 s.
            disable_nagle_algorithm = True

            def do_GET(self):
                if delay:
                    time.sleep(delay)  # the round trip: nothing is sent before it is over
                if unquote(urlsplit(self.path).path) != "/simple/":
                    return super().do_GET()
                projects = sorted(index.projects)
                if "json" in self.headers.get("Accept", ""):
                    body, content_type = fixtures.root_json(projects).encode(), JSON_V1
                else:
                    body, content_type = fixtures.root_html(projects).encode(), "text/html"
                self._send(200, body, content_type)

            def _send(self, status, body, content_type, etag=None, encoding=None):
                if not rate or status == 304:
                    return super()._send(status, body, content_type, etag, encoding)
                # The headers as the base class sends them, then the body paced at ``rate``.
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                start, chunk = time.perf_counter(), 64 * 1024
                for i in range(0, len(body), chunk):
                    self.wfile.write(body[i: i + chunk])
                    ahead = start + (i + chunk) / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)

        server = _Server((self._host, self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self


class upstream:
    """``with upstream(options) as url``: the upstream serving the 20 mirror projects and the big wheel."""

    def __init__(self, big_file_mb: int, max_projects: int, delay_ms: float = 0.0,
                 bandwidth_mbps: float = 0.0) -> None:
        self.big_file_mb = big_file_mb
        self.max_projects = max_projects
        self.delay_ms = delay_ms
        self.bandwidth_mbps = bandwidth_mbps

    def __enter__(self) -> str:
        index = FakeIndex()
        for f in fixtures.mirror_files(self.big_file_mb, self.max_projects):
            index.add(f.project, Dist(f.filename, f.path.read_bytes(), f.project, f.version))
        server = BenchUpstream(index)
        server.delay_ms, server.bandwidth_mbps = self.delay_ms, self.bandwidth_mbps
        self.server = server.start()
        return self.server.url

    def __exit__(self, *exc) -> None:
        self.server.stop()
