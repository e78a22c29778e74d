"""Receiving an uploaded file: streamed to disk beside the blobs, hashed as it passes.

The upload form is parsed with a streaming multipart parser (python-multipart): the file
part goes straight into a temporary file in the blob storage's own temporary directory,
through md5, sha256 and blake2b-256, so that storing it is a rename, the server's memory
does not grow with the file, and the body is written to disk once more at most.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from webob.multidict import MultiDict

CHUNK = 1024 * 1024
FIELD_LIMIT = 1024 * 1024  # bytes of one ordinary (non-file) form field


class ReceiveError(ValueError):
    """A body that cannot be read as an upload; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ReceivedFile:
    """A file received into ``path``; whoever takes it (``consumeFile``) moves it away."""

    path: str
    filename: str
    size: int = 0
    hashes: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# hashlib lets go of the GIL while it hashes more than 2 KiB: big chunks are hashed by these
# threads, one digest each, while the request's thread computes sha256 and writes the file.
_HASHING = ThreadPoolExecutor(2, thread_name_prefix="upload-hash")
PARALLEL_HASHING = 64 * 1024


class FileSink:
    """Writes chunks to a temporary file, hashing them and enforcing a size limit."""

    def __init__(self, filename: str, tmp_dir: str | None, max_size: int) -> None:
        fd, path = tempfile.mkstemp(dir=tmp_dir, prefix="upload-", suffix=".part")
        self.out = os.fdopen(fd, "wb")
        self.file = ReceivedFile(path, filename)
        self.max_size = max_size
        self.digests = {
            "md5": hashlib.md5(usedforsecurity=False),
            "sha256": hashlib.sha256(),
            "blake2_256": hashlib.blake2b(digest_size=32),
        }
        self._aside = [self.digests["md5"], self.digests["blake2_256"]]

    def write(self, data) -> None:
        self.file.size += len(data)
        if self.file.size > self.max_size:
            raise ReceiveError(
                f"File too large: more than {self.max_size} bytes (shop.max_upload_size).", 413
            )
        if len(data) < PARALLEL_HASHING:
            for digest in self.digests.values():
                digest.update(data)
            self.out.write(data)
            return
        aside = [_HASHING.submit(digest.update, data) for digest in self._aside]
        self.digests["sha256"].update(data)
        self.out.write(data)
        for done in aside:
            done.result()

    def finish(self) -> ReceivedFile:
        self.out.close()
        self.file.hashes = {algo: d.hexdigest() for algo, d in self.digests.items()}
        return self.file

    def abort(self) -> None:
        self.out.close()
        self.file.discard()


def receive_stream(source: BinaryIO, filename: str, tmp_dir: str | None, max_size: int) -> ReceivedFile:
    """Copy a file-like object into a received file, in chunks."""
    sink = FileSink(filename, tmp_dir, max_size)
    try:
        while chunk := source.read(CHUNK):
            sink.write(chunk)
    except BaseException:
        sink.abort()
        raise
    return sink.finish()


def parse_form(body: BinaryIO, content_type: str, content_length: int | None,
               tmp_dir: str | None, max_size: int, file_field: str = "content"
               ) -> tuple[MultiDict, ReceivedFile | None]:
    """Parse a multipart/form-data body: the fields, and the file part ``file_field``.

    Other file parts are ignored. Raises ReceiveError for a body that is not a complete
    multipart form, and discards the received file then.
    """
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if mimetype != b"multipart/form-data":
        raise ReceiveError(f"Expected a multipart/form-data upload form, not {content_type!r}.")
    if not boundary:
        raise ReceiveError("Malformed upload form: multipart/form-data without a boundary.")
    form = _FormBuilder(tmp_dir, max_size, file_field)
    parser = MultipartParser(boundary, form.callbacks())
    remaining = content_length
    try:
        while remaining is None or remaining > 0:
            chunk = body.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            parser.write(chunk)
            form.raise_pending()
        parser.finalize()
        form.raise_pending()
        if not form.finished:
            raise ReceiveError("Incomplete upload form: the body ended before its last boundary.")
    except ReceiveError:
        form.abort()
        raise
    except Exception as e:  # the parser's own errors: a malformed body
        form.abort()
        raise ReceiveError(f"Malformed upload form: {e}") from None
    return form.fields, form.received


class _FormBuilder:
    """Collects fields from the parser's callbacks; streams the file part into a FileSink."""

    def __init__(self, tmp_dir: str | None, max_size: int, file_field: str) -> None:
        self.tmp_dir, self.max_size, self.file_field = tmp_dir, max_size, file_field
        self.fields = MultiDict()
        self.received: ReceivedFile | None = None
        self.finished = False
        self._error: ReceiveError | None = None
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value: bytearray | None = None
        self._sink: FileSink | None = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_val,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        if self._sink is not None:
            self._sink.abort()
            self._sink = None
        if self.received is not None:
            self.received.discard()
            self.received = None

    def _part_begin(self) -> None:
        self._headers, self._name, self._value, self._sink = {}, None, None, None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_val(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and name == self.file_field and self.received is None:
            self._name = name
            self._sink = FileSink(filename.decode("utf-8", "replace"), self.tmp_dir, self.max_size)
        elif filename is None:
            self._name, self._value = name, bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._error is not None:
            return
        try:
            if self._sink is not None:
                self._sink.write(memoryview(data)[start:end])
            elif self._value is not None:
                self._value += data[start:end]
                if len(self._value) > FIELD_LIMIT:
                    raise ReceiveError(f"Form field {self._name!r} is larger than {FIELD_LIMIT} bytes.")
        except ReceiveError as e:
            self._error = e

    def _part_end(self) -> None:
        if self._sink is not None:
            self.received = self._sink.finish()
            self._sink = None
        elif self._value is not None:
            self.fields.add(self._name, self._value.decode("utf-8", "replace"))

    def _end(self) -> None:
        self.finished = True
