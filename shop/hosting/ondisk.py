"""A distribution file on disk taken in as an upload (``localshop import``): the form an upload's
body parses into, its file received (copied and hashed) beside the blobs, its name, version and
metadata read from the file itself (a wheel's METADATA, an sdist's PKG-INFO).

Nothing here judges the file: ``publishing.publish`` runs every check of an upload on the form.
What cannot be read here (no METADATA, a damaged archive) leaves the form without metadata,
and the upload's own checks refuse the file, with the reasons an upload would get.
"""
from __future__ import annotations

import gzip
import tarfile
import zipfile
import zlib
from typing import BinaryIO

from packaging.metadata import parse_email

from shop.hosting.errors import UploadError
from shop.hosting.forms import MULTI_FIELDS, SINGLE_FIELDS, UploadForm
from shop.hosting.receiving import receive_stream
from shop.model import names, wheels

# Decompressed bytes of an sdist read while looking for its PKG-INFO (hatchling writes it
# last): past this the sdist is taken in with the name and version of its filename.
SDIST_SCAN = 512 * 1024 * 1024
CHUNK = 1024 * 1024
PKG_INFO = "/PKG-INFO"
# packaging's names of core-metadata fields where the upload form's differ.
RENAMED = {"platforms": "platform", "supported_platforms": "supported_platform"}


def form_from_file(path: str, filename: str, tmp_dir: str | None, max_size: int,
                   sha256: str | None = None) -> UploadForm:
    """The upload form of the distribution at ``path``, named ``filename``; its bytes copied
    into ``tmp_dir`` (at most ``max_size``, as an upload). ``sha256``: what the bytes must hash
    to, when a manifest recorded it (the form's digest); else the digest of the bytes read."""
    try:
        dist = names.parse_filename(filename)
    except names.InvalidName as e:
        raise UploadError(str(e)) from None
    raw = core_metadata(path, dist)
    with open(path, "rb") as source:
        received = receive_stream(source, filename, tmp_dir, max_size)
    return UploadForm(
        action="file_upload", protocol_version="1",
        name=str(raw.pop("name", "") or "").strip() or dist.project,
        version=str(raw.pop("version", "") or "").strip() or str(dist.version),
        filetype=dist.packagetype, pyversion=_pyversion(dist), filename=filename,
        content=received, digests={"sha256": (sha256 or received.hashes["sha256"]).lower()},
        metadata=form_fields(raw),
    )


def _pyversion(dist: names.DistFilename) -> str:
    """What twine sends: a wheel's Python tag (``py3``, ``cp312``), ``source`` for an sdist."""
    if dist.packagetype == "sdist":
        return "source"
    return dist.filename[: -len(".whl")].split("-")[-3]


def core_metadata(path: str, dist: names.DistFilename) -> dict:
    """The file's core metadata as packaging's raw fields; {} when it has none to read."""
    try:
        with open(path, "rb") as f:
            data = _metadata_bytes(f, dist)
    except (OSError, EOFError, ValueError, zlib.error, tarfile.TarError, zipfile.BadZipFile,
            KeyError, NotImplementedError, wheels.MetadataTooLarge):
        return {}
    if data is None:
        return {}
    raw, _unparsed = parse_email(data)
    return dict(raw)


def _metadata_bytes(f: BinaryIO, dist: names.DistFilename) -> bytes | None:
    if dist.packagetype == "bdist_wheel":
        with zipfile.ZipFile(f) as wheel:
            mine = [n for n in wheels.metadata_names(wheel)
                    if wheels.dist_info_matches(n, dist.project, dist.version)]
            return wheels.read_member(wheel, mine[0]) if mine else None
    if dist.filename.endswith(".zip"):
        with zipfile.ZipFile(f) as archive:
            found = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(PKG_INFO)]
            return wheels.read_member(archive, found[0]) if found else None
    with gzip.GzipFile(fileobj=f) as unzipped:
        return _tar_pkg_info(_Bounded(unzipped, SDIST_SCAN))


def _tar_pkg_info(tar: "_Bounded") -> bytes | None:
    """The ``<top>/PKG-INFO`` of a tar stream, its headers read one by one: tarfile would read
    a pax header whole into memory, however large; here every member but that one is skipped."""
    while True:
        block = tar.read_exactly(tarfile.BLOCKSIZE)
        if len(block) < tarfile.BLOCKSIZE:
            return None
        try:
            member = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError:  # the end-of-archive zeros, or no tar at all
            return None
        if member.isreg() and member.name.count("/") == 1 and member.name.endswith(PKG_INFO):
            if member.size > wheels.MAX_METADATA:
                raise wheels.MetadataTooLarge(member.name)
            return tar.read_exactly(member.size)
        tar.skip(member.size + (-member.size % tarfile.BLOCKSIZE))


class _Bounded:
    """A reader that ends (as at the end of the file) once ``limit`` bytes were read."""

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self.raw, self.left = raw, limit

    def read(self, size: int) -> bytes:
        data = self.raw.read(min(size, self.left)) if size > 0 and self.left > 0 else b""
        self.left -= len(data)
        return data

    def read_exactly(self, size: int) -> bytes:
        """``size`` bytes, or fewer at the end."""
        parts = []
        while size > 0 and (data := self.read(size)):
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def skip(self, size: int) -> None:
        while size > 0 and (data := self.read(min(size, CHUNK))):
            size -= len(data)


def form_fields(raw: dict) -> dict:
    """Core metadata (packaging's raw fields) as the upload form's fields, as twine sends them."""
    fields: dict = {}
    for key, value in raw.items():
        key = RENAMED.get(key, key)
        if key == "project_urls" and isinstance(value, dict):
            value = [f"{label}, {url}" for label, url in value.items()]
        elif key == "keywords" and isinstance(value, list):
            value = ", ".join(value)
        if key in MULTI_FIELDS and isinstance(value, list):
            fields[key] = [str(v) for v in value]
        elif key in SINGLE_FIELDS and value:
            fields[key] = str(value)
    return fields
