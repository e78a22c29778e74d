"""The loopback upstream for the mirror scenarios: tests/upstream.py's server, plus a root page.

``tests.upstream.UpstreamServer`` serves project pages (PEP 503 HTML and PEP 691 JSON) and files
from memory; devpi's mirror also reads the upstream's project list (``/simple/``) before it
asks for a project, so the benchmark's upstream answers that too, as a real index does.
"""
from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

from tests.factories import Dist
from tests.upstream import JSON_V1, FakeIndex, UpstreamServer, _handler, _Server

from . import fixtures


class BenchUpstream(UpstreamServer):
    """An UpstreamServer whose ``/simple/`` lists its projects and that answers without delay."""

    def start(self) -> "BenchUpstream":
        base = _handler(self)
        index = self.index

        class Handler(base):
            # TCP_NODELAY: http.server writes the headers and the body separately, and on a
            # keep-alive connection Nagle's algorithm then holds the body back until the client's
            # delayed ACK (40 ms): pip straight from the upstream took 2.2 s instead of 0.47 s.
            disable_nagle_algorithm = True

            def do_GET(self):
                if unquote(urlsplit(self.path).path) != "/simple/":
                    return super().do_GET()
                projects = sorted(index.projects)
                if "json" in self.headers.get("Accept", ""):
                    body, content_type = fixtures.root_json(projects).encode(), JSON_V1
                else:
                    body, content_type = fixtures.root_html(projects).encode(), "text/html"
                self._send(200, body, content_type)

        server = _Server((self._host, self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self


class upstream:
    """``with upstream(options) as url``: the upstream serving the 20 mirror projects and the big wheel."""

    def __init__(self, big_file_mb: int, max_projects: int) -> None:
        self.big_file_mb = big_file_mb
        self.max_projects = max_projects

    def __enter__(self) -> str:
        index = FakeIndex()
        for f in fixtures.mirror_files(self.big_file_mb, self.max_projects):
            index.add(f.project, Dist(f.filename, f.path.read_bytes(), f.project, f.version))
        self.server = BenchUpstream(index).start()
        return self.server.url

    def __exit__(self, *exc) -> None:
        self.server.stop()
