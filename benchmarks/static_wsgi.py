"""The fixture's static tree as a five-line WSGI app under waitress: the floor of the server.

Pages are read into memory once and, above 64 KiB, handed to waitress as a file (as localshop
does: no copy into waitress's buffer); files are sent through ``wsgi.file_wrapper``; no routing,
security, transaction or database. What localshop needs on top of waitress is the difference
between this peer's figures and localshop's. Started by ``peers.BareWaitress``::

    waitress-serve --threads 8 --listen 127.0.0.1:PORT --call benchmarks.static_wsgi:make_app

with the fixture's ``static`` directory in ``BENCH_STATIC_ROOT``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path


def make_app():
    root = Path(os.environ["BENCH_STATIC_ROOT"])
    pages = {
        "/" + str(path.parent.relative_to(root)) + "/" + path.suffix: path.read_bytes()
        for path in (root / "simple").rglob("index.*")
    }

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path.startswith("/files/") and "/" not in path[len("/files/"):]:
            file = root / "files" / path[len("/files/"):]
            if file.is_file():
                start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                          ("Content-Length", str(file.stat().st_size))])
                return environ["wsgi.file_wrapper"](open(file, "rb"), 256 * 1024)
        json = "application/vnd.pypi.simple.v1+json" in environ.get("HTTP_ACCEPT", "")
        body = pages.get(path + (".json" if json else ".html"))
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"Not found"]
        content_type = "application/vnd.pypi.simple.v1+json" if json else "text/html"
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                  ("Vary", "Accept")])
        if len(body) > 64 * 1024:
            return environ["wsgi.file_wrapper"](io.BytesIO(body), 64 * 1024)
        return [body]

    return app
