"""Clients reading a mirrored file while it downloads (``shop.mirror.downloads``).

Each reader has its own descriptor on the download's temporary file and reads behind the
writer (``os.pread``), waiting while no new bytes came; the last byte is held back until
the download is verified, so a bad download never reaches a client as a complete-looking
file.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator

from shop.mirror.storing import DownloadFailed

if TYPE_CHECKING:
    from shop.mirror.downloads import Download

CHUNK = 256 * 1024


class Follower:
    """Reads a download's temporary file behind the writer; holds the last byte until verified."""

    def __init__(self, download: Download, fd: int, idle_timeout: float) -> None:
        self.download = download
        self.fd = fd
        self.offset = 0
        self.idle_timeout = idle_timeout
        self._first: list[bytes] = []

    def __iter__(self):
        return self

    def prime(self) -> None:
        """Read the first chunk now (it is returned first); raises if the download failed."""
        try:
            self._first.append(self._read())
        except StopIteration:  # an empty file
            pass

    def _available(self) -> int | None:
        d = self.download
        if d.verified:  # good bytes, even if storing them fails afterwards
            return d.written
        if d.state == "failed":
            raise DownloadFailed(d.error)
        if d.state == "done":
            return d.written
        if d.size is not None:
            return min(d.written, d.size - 1)
        return d.written

    def __next__(self) -> bytes:
        if self._first:
            return self._first.pop()
        return self._read()

    def _read(self) -> bytes:
        d = self.download
        with d.cond:
            while True:
                available = self._available()
                if self.offset < available:
                    break
                if d.verified or d.state == "done":
                    raise StopIteration
                if not d.cond.wait(self.idle_timeout):
                    raise DownloadFailed(f"no bytes from upstream for {self.idle_timeout:.0f} s")
        data = d.read_at(self.fd, self.offset, min(CHUNK, available - self.offset))
        self.offset += len(data)
        return data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def file_chunks(f) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk
