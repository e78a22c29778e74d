"""Old clients' upload forms (distutils' bare ``\\n`` framing) reframed with CRLF as they stream.

Only the framing is rewritten: each boundary line and each part-header line gets ``\\r\\n``;
a part's own bytes pass unchanged up to the ``\\n--boundary`` that ends them. The result goes
through the same streaming parser as every other form, so its limits (parts, header lines,
field and file sizes) hold for old clients too, and nothing is read whole into memory.
"""
from __future__ import annotations

from typing import BinaryIO, Iterator

HEAD = 64 * 1024  # bytes read to find the first boundary line (a preamble longer: not bare)
# A header line is held until its end; one longer than this (far over the parser's limit)
# is passed on as it is, for the parser to refuse.
LONG_LINE = 64 * 1024


def bare_newline_framed(body: BinaryIO, boundary: bytes) -> bool:
    """Whether the body's first boundary line ends in a ``\\n`` not preceded by ``\\r``."""
    body.seek(0)
    head = body.read(HEAD + len(boundary))
    body.seek(0)
    start = head.find(b"--" + boundary)
    end = head.find(b"\n", start) if start >= 0 else -1
    return end > 0 and head[end - 1:end] != b"\r"


class CRLFFramed:
    """A file-like reader of ``body`` (``length`` bytes of it, if known) reframed with CRLF."""

    def __init__(self, body: BinaryIO, boundary: bytes, length: int | None, chunk: int) -> None:
        self._chunks = _reframed(body_chunks(body, length, chunk), b"\n--" + boundary)
        self._pending = b""

    def read(self, size: int) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = chunk
        data, self._pending = self._pending[:size], self._pending[size:]
        return data


def body_chunks(body: BinaryIO, length: int | None, chunk: int) -> Iterator[bytes]:
    """The body's chunks, no more than ``length`` bytes in all."""
    while length is None or length > 0:
        data = body.read(chunk if length is None else min(chunk, length))
        if not data:
            return
        if length is not None:
            length -= len(data)
        yield data


def _reframed(chunks: Iterator[bytes], delimiter: bytes) -> Iterator[bytes]:
    """``chunks`` with CRLF framing; ``delimiter`` is ``\\n--boundary``."""
    buffer = b"\n"  # the first boundary has no part before it: as if one ended here
    lines = None  # in a part's headers: the lines read of them (else in data or preamble)
    for data in chunks:
        buffer += data
        while buffer:
            if lines is not None:
                out, buffer, lines = _header_lines(buffer, lines)
                yield out
                if lines is not None:
                    break  # the headers' last line is not complete yet
                continue
            at = buffer.find(delimiter)
            if at < 0:
                keep = len(delimiter) + 1  # a delimiter may begin in this chunk's tail
                if len(buffer) > keep:
                    yield buffer[:-keep]
                    buffer = buffer[-keep:]
                break
            after = at + len(delimiter)
            if len(buffer) < after + 2:
                break  # whether the boundary is the last one is in the next chunk
            yield buffer[:at] + b"\r" + delimiter
            buffer = buffer[after:]
            if buffer.startswith(b"--"):  # the closing boundary: the rest is the epilogue
                yield buffer
                yield from chunks
                return
            lines = 0
    yield buffer


def _header_lines(buffer: bytes, lines: int) -> tuple[bytes, bytes, int | None]:
    """Complete lines of ``buffer`` with CRLF, the rest, and the count of lines so far (None
    once an empty line ended the headers). Line 0 is the rest of the boundary's line."""
    out = []
    while (end := buffer.find(b"\n")) >= 0:
        line, buffer = buffer[:end].removesuffix(b"\r"), buffer[end + 1:]
        out.append(line + b"\r\n")
        lines += 1
        if not line and lines > 1:
            return b"".join(out), buffer, None
    if len(buffer) > LONG_LINE:  # too long to wait for its end: the parser refuses it
        out.append(buffer)
        buffer = b""
    return b"".join(out), buffer, lines
