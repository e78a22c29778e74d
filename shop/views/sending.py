"""Sending committed blobs over WSGI: byte ranges, capped reads, and front-end sendfile headers."""
from __future__ import annotations

import os
from typing import Iterator
from urllib.parse import quote

from pyramid.response import FileIter, Response
from ZODB.blob import Blob

CHUNK = 256 * 1024
IMMUTABLE = "public, max-age=31536000, immutable"


def blob_response(request, blob: Blob, *, sha256: str, size: int, content_type: str,
                  sendfile: tuple[str, str, str] | None) -> Response:
    """Stream a committed blob with its length, a sha256 ETag and an immutable cache policy."""
    if sendfile is not None:
        response = _sendfile_response(blob.committed(), sendfile, content_type)
    else:
        # Opened by path: the file stays readable after the request's connection is closed.
        f = open(blob.committed(), "rb")
        wrapper = request.environ.get("wsgi.file_wrapper")
        if request.range is not None:
            # WebOb answers 206 with the part asked for (or 416), read from where it starts;
            # uv reads a wheel's METADATA this way, pip resumes broken downloads.
            app_iter = RangeFileIter(f)
        elif wrapper is not None:
            app_iter = wrapper(ChunkedReads(f), CHUNK)
        else:
            app_iter = FileIter(f, CHUNK)
        response = Response(
            app_iter=app_iter, headerlist=[("Content-Type", content_type)], content_length=size,
        )
        response.accept_ranges = "bytes"
    response.etag = sha256
    response.cache_control = IMMUTABLE
    response.conditional_response = True
    return response


class RangeFileIter:
    """A file as an app_iter that WebOb can narrow to one byte range (``Range``).

    Not ``webob.static.FileIter``: its range is a generator that closes the file only once
    iterated, so a ``206`` to a HEAD request would leave the file open.
    """

    def __init__(self, f) -> None:
        self.file = f
        self.start, self.stop = 0, None

    def app_iter_range(self, start: int, stop: int | None) -> "RangeFileIter":
        self.start, self.stop = start, stop
        return self

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.start)
        left = None if self.stop is None else self.stop - self.start
        while left is None or left > 0:
            data = self.file.read(CHUNK if left is None else min(CHUNK, left))
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data

    def close(self) -> None:
        self.file.close()


class ChunkedReads:
    """A file for ``wsgi.file_wrapper`` that reads at most ``CHUNK`` bytes at a time.

    waitress sends a file by asking it for as many bytes as the socket's send buffer holds
    (``SO_SNDBUF``: 4 MiB on a loopback connection of a Linux machine), and then reads the part
    it sent a second time only to step past it. So every connection downloading a file held
    up to 8 MiB of copies. Here each read is capped, and the second read of the same bytes is
    answered from the chunk just read: one ``CHUNK`` per connection, read from disk once.
    """

    def __init__(self, f) -> None:
        self.file = f
        self.seek, self.tell, self.close = f.seek, f.tell, f.close
        self._last: bytes = b""
        self._last_at = -1

    def read(self, size: int = -1) -> bytes:
        at = self.file.tell()
        if at == self._last_at and 0 <= size <= len(self._last):
            data = self._last if size == len(self._last) else self._last[:size]
            self.file.seek(at + len(data))
            self._last, self._last_at = b"", -1
            return data
        data = self.file.read(CHUNK if size < 0 or size > CHUNK else size)
        self._last, self._last_at = data, at
        return data

    def seekable(self) -> bool:
        return True


def _sendfile_response(path: str, sendfile: tuple[str, str, str], content_type: str) -> Response:
    """An empty response telling the front-end server which file to send (shop.sendfile)."""
    kind, prefix, blob_dir = sendfile
    response = Response(headerlist=[("Content-Type", content_type)])
    if kind == "x-sendfile":
        response.headers["X-Sendfile"] = path
    else:
        relative = os.path.relpath(os.path.realpath(path), blob_dir)
        response.headers["X-Accel-Redirect"] = prefix + quote(relative)
    return response
