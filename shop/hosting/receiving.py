"""Receiving an upload form: its fields, and its file streamed to disk beside the blobs, hashed.

The body is parsed with a streaming multipart parser (python-multipart): the file part goes
straight into a temporary file in the blob storage's own temporary directory, through md5,
sha256 and blake2b-256, so that storing it is a rename, the server's memory does not grow
with the file, and the body is written to disk once more at most. Very old clients
(distutils' ``setup.py upload``) frame their forms with bare ``\\n``; those are reframed with
CRLF as they stream (``shop.hosting.reframing``) and go through the same parser and limits,
so every form comes out as its fields and one received file.

This module only parses. The limits it enforces (the file's size, an ordinary field's size)
are the ones that must hold while the body streams in; every other check of an upload is in
``shop.hosting.validation``.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from python_multipart.multipart import MultipartParser, parse_options_header
from webob.multidict import MultiDict, NestedMultiDict

from shop.hosting.errors import INSUFFICIENT_STORAGE, UploadError, is_disk_full
from shop.hosting.reframing import CRLFFramed, bare_newline_framed, body_chunks
from shop.scratch import ScratchFile

CHUNK = 1024 * 1024
FIELD_LIMIT = 1024 * 1024  # bytes of one ordinary (non-file) form field
# A part's headers, limited as the request's own are (shop/wsgi.py). Parts carry two or three.
PART_HEADER_LIMIT = 8 * 1024  # bytes of one header line of a part
PART_HEADERS_LIMIT = 16  # header lines of one part
# Parts of one form: a real upload has tens (with every classifier, a few hundred); each
# part costs memory however small, so a body of tiny fields is refused long before its end.
MAX_PARTS = 20_000
TOO_MANY_PARTS = f"Too many form fields: more than {MAX_PARTS}."
# A form without a file part is only fields: several of FIELD_LIMIT, percent-encoded.
FORM_LIMIT = 4 * FIELD_LIMIT
FILE_FIELD = "content"  # the form field that carries the distribution


class ReceiveError(UploadError):
    """A body that cannot be read as an upload; ``status`` is the HTTP status to answer."""


@dataclass
class ReceivedFile:
    """A file received into ``path``; whoever takes it (``consumeFile``) moves it away."""

    path: str
    filename: str
    size: int = 0
    hashes: dict[str, str] = field(default_factory=dict)
    scratch: ScratchFile | None = None  # holds the file against other processes' clean-ups
    taken_as: str | None = None  # the blob's name for it, until the commit moves it

    def discard(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def release(self) -> None:
        """Let go of the file once the transaction that took it (or not) is over; a blob's
        file that an aborted commit left (a full disk) goes now, not when Python collects it."""
        if self.taken_as is not None:
            try:
                os.unlink(self.taken_as)
            except FileNotFoundError:  # committed: the file is the blob's now
                pass
        if self.scratch is not None:
            self.scratch.release()


# hashlib lets go of the GIL while it hashes more than 2 KiB: big chunks are hashed by these
# threads, one digest each, while the request's thread computes sha256 and writes the file.
_HASHING = ThreadPoolExecutor(2, thread_name_prefix="upload-hash")
PARALLEL_HASHING = 64 * 1024


class FileSink:
    """Writes chunks to a temporary file, hashing them and enforcing a size limit."""

    def __init__(self, filename: str, tmp_dir: str | None, max_size: int) -> None:
        with _room_needed():
            scratch = ScratchFile(tmp_dir, "upload-", ".part")
        self.out = scratch.writer()
        self.file = ReceivedFile(scratch.path, filename, scratch=scratch)
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
            with _room_needed():
                self.out.write(data)
            return
        aside = [_HASHING.submit(digest.update, data) for digest in self._aside]
        self.digests["sha256"].update(data)
        try:
            with _room_needed():
                self.out.write(data)
        finally:
            for done in aside:
                done.result()

    def finish(self) -> ReceivedFile:
        with _room_needed():
            self.out.close()  # writes what is buffered: the disk may be full now
        self.file.hashes = {algo: d.hexdigest() for algo, d in self.digests.items()}
        return self.file

    def abort(self) -> None:
        try:
            self.out.close()
        except OSError:  # the buffered rest found no room (a full disk): the file goes anyway
            pass
        self.file.discard()
        self.file.release()


@contextlib.contextmanager
def _room_needed():
    """Turn a full disk (or quota) into the upload's refusal, 507; other errors pass."""
    try:
        yield
    except OSError as e:
        if is_disk_full(e):
            raise ReceiveError(INSUFFICIENT_STORAGE, 507) from e
        raise


def receive_stream(source: BinaryIO, filename: str, tmp_dir: str | None, max_size: int) -> ReceivedFile:
    """Copy a file-like object into a received file, in chunks."""
    sink = FileSink(filename, tmp_dir, max_size)
    try:
        while chunk := source.read(CHUNK):
            sink.write(chunk)
        return sink.finish()
    except BaseException:
        sink.abort()
        raise


def receive_form(body: BinaryIO, content_type: str, content_length: int | None,
                 tmp_dir: str | None, max_size: int, *, query: MultiDict,
                 lenient_params: Callable[[], MultiDict]) -> tuple[MultiDict, ReceivedFile | None]:
    """The fields of an upload form (``query``'s too) and its received file, if it has one.

    ``lenient_params()`` parses a form that is not multipart (WebOb's ``request.POST``). A
    multipart body framed with bare ``\\n`` (distutils) is reframed with CRLF and streamed
    through the same parser, with the same limits. Raises ReceiveError (a body that is no
    form, a file over ``max_size``, a limit passed).
    """
    if content_type.split(";", 1)[0] != "multipart/form-data":  # a form without a file part
        _check_small_form(body, content_length)
        return NestedMultiDict(query, _counted(lenient_params())), None
    body.seek(0)  # a retried request (ConflictError) reads the same body again
    try:
        fields, received = parse_form(body, content_type, content_length, tmp_dir, max_size)
    except ReceiveError as refused:
        boundary = parse_options_header(content_type)[1].get(b"boundary")
        if refused.status != 400 or not boundary or not bare_newline_framed(body, boundary):
            raise
        return _receive_leniently(refused, body, content_type, content_length, query,
                                  tmp_dir, max_size)
    return NestedMultiDict(fields, query), received


def _receive_leniently(refused: ReceiveError, body: BinaryIO, content_type: str,
                       content_length: int | None, query: MultiDict, tmp_dir: str | None,
                       max_size: int) -> tuple[MultiDict, ReceivedFile | None]:
    """A form framed with bare ``\\n`` line breaks, reframed and parsed as any other. A
    ``content`` that is no file part: the streaming parser's first refusal. No ``content``
    at all (old ``register``'s ``:action=submit``): no file."""
    boundary = parse_options_header(content_type)[1][b"boundary"]
    reframed = CRLFFramed(body, boundary, content_length, CHUNK)
    fields, received = parse_form(reframed, content_type, None, tmp_dir, max_size)
    if FILE_FIELD in query or FILE_FIELD in fields or (received is None and not fields):
        if received is not None:
            received.discard()
            received.release()
        raise refused from None
    # The query string comes first here, as WebOb's ``request.params`` had it when these
    # forms were read by its cgi parser; after the fields in the CRLF path. Each as it has
    # always been, for a field sent in both places.
    return NestedMultiDict(query, fields), received


def _check_small_form(body: BinaryIO, content_length: int | None) -> None:
    """Refuse a form without a file part that is too large, or of too many fields, to parse.

    WebOb's parser reads such a form whole and splits every field before anyone counts them:
    this looks first, at no more than FORM_LIMIT bytes."""
    if (content_length or 0) > FORM_LIMIT:
        raise ReceiveError(f"Upload form too large: a form without a file part may have at most"
                           f" {FORM_LIMIT} bytes.", status=413)
    body.seek(0)
    head = body.read(FORM_LIMIT)
    body.seek(0)
    if head.count(b"&") >= MAX_PARTS:  # as urllib's parse_qsl counts them (max_num_fields)
        raise ReceiveError(TOO_MANY_PARTS)


def _counted(params: MultiDict) -> MultiDict:
    """The lenient parser's fields, unless there are more than MAX_PARTS of them."""
    if len(params) > MAX_PARTS:
        raise ReceiveError(TOO_MANY_PARTS)
    return params


def parse_form(body: BinaryIO, content_type: str, content_length: int | None,
               tmp_dir: str | None, max_size: int, file_field: str = FILE_FIELD
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
    parser = MultipartParser(boundary, form.callbacks(), max_header_count=PART_HEADERS_LIMIT,
                             max_header_size=PART_HEADER_LIMIT)
    try:
        for chunk in body_chunks(body, content_length, CHUNK):
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
        raise _refusal(e) from None
    return form.fields, form.received


def _refusal(error: Exception) -> ReceiveError:
    """The refusal of a body the streaming parser could not read."""
    if str(error).startswith("Maximum header"):
        # Final (413, not 400): the lenient parser would read the same headers without bound.
        return ReceiveError(f"Upload form refused: {error}; a form part may have at most"
                            f" {PART_HEADERS_LIMIT} header lines of {PART_HEADER_LIMIT}"
                            " bytes.", status=413)
    return ReceiveError(f"Malformed upload form: {error}")


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
        self._parts = 0

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
        self._parts += 1
        if self._parts > MAX_PARTS and self._error is None:
            self._error = ReceiveError(TOO_MANY_PARTS)

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
