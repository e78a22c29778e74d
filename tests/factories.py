"""Small builders of real distribution files and upload forms for tests."""
from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from dataclasses import dataclass

from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Dist:
    """A built distribution file: its name and bytes."""

    filename: str
    data: bytes
    name: str
    version: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()

    @property
    def blake2_256(self) -> str:
        return hashlib.blake2b(self.data, digest_size=32).hexdigest()

    @property
    def filetype(self) -> str:
        return "bdist_wheel" if self.filename.endswith(".whl") else "sdist"

    def write(self, directory) -> "object":
        path = directory / self.filename
        path.write_bytes(self.data)
        return path


def metadata_text(name: str, version: str, *, requires_python: str | None = None,
                  requires_dist: tuple[str, ...] = (), summary: str = "A test project",
                  description: str = "", metadata_version: str = "2.1",
                  headers: tuple[str, ...] = ()) -> str:
    """A METADATA (or PKG-INFO); ``headers`` are further lines (``"License-File: LICENSE"``)."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary}", *headers]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {r}" for r in requires_dist]
    if description:
        lines += ["Description-Content-Type: text/markdown", "", description]
    return "\n".join(lines) + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(name: str = "demo", version: str = "1.0", *, module: str | None = None,
               requires_python: str | None = None, requires_dist: tuple[str, ...] = (),
               padding: int = 0, metadata: str | None = None, description: str = "",
               tag: str = "py3-none-any") -> Dist:
    """A real, installable pure-Python wheel with a module that records its version.

    ``padding`` adds an incompressible file of that many bytes (for large-file tests);
    ``tag`` is the wheel's compatibility tag (another platform's, for resolving for it).
    """
    dist_name = canonicalize_name(name).replace("-", "_")
    module = module or dist_name
    dist_info = f"{dist_name}-{version}.dist-info"
    meta = metadata if metadata is not None else metadata_text(
        name, version, requires_python=requires_python, requires_dist=requires_dist,
        description=description,
    )
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": meta.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: localshop-tests\nRoot-Is-Purelib: true\nTag: " + tag.encode() + b"\n",
    }
    if padding:
        files[f"{module}/padding.bin"] = _incompressible(padding)
    record = [_record_line(p, d) for p, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if path.endswith(".bin") else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return Dist(f"{dist_name}-{version}-{tag}.whl", buffer.getvalue(), name, version)


def _incompressible(size: int) -> bytes:
    seed = hashlib.sha256(b"localshop").digest()
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest() * 64
        counter += 1
    return bytes(out[:size])


def make_sdist(name: str = "demo", version: str = "1.0", *, filename: str | None = None,
               requires_python: str | None = None) -> Dist:
    """A real, pip-installable sdist (setuptools, pyproject.toml) as .tar.gz."""
    dist_name = canonicalize_name(name).replace("-", "_")
    base = f"{dist_name}-{version}"
    pyproject = (
        "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
        f"[project]\nname = \"{name}\"\nversion = \"{version}\"\n"
        + (f"requires-python = \"{requires_python}\"\n" if requires_python else "")
        + f"\n[tool.setuptools]\npackages = [\"{dist_name}\"]\n"
    )
    files = {
        f"{base}/PKG-INFO": metadata_text(name, version, requires_python=requires_python).encode(),
        f"{base}/pyproject.toml": pyproject.encode(),
        f"{base}/{dist_name}/__init__.py": f"VERSION = {version!r}\n".encode(),
    }
    return Dist(filename or f"{base}.tar.gz", tar_gz(files), name, version)


def tar_gz(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    """A gzipped tar archive of ``{path: bytes}``, with fixed dates (same input, same bytes);
    ``mode="w:"`` for the tar archive uncompressed."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1704067200
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload_fields(dist: Dist, **overrides) -> dict:
    """The form fields twine would send for ``dist`` (``None`` in overrides drops a field)."""
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": dist.name,
        "version": dist.version,
        "filetype": dist.filetype,
        "pyversion": "py3" if dist.filetype == "bdist_wheel" else "source",
        "metadata_version": "2.1",
        "summary": "A test project",
        "sha256_digest": dist.sha256,
        "md5_digest": dist.md5,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def distutils_body(dist: Dist, **overrides) -> tuple[bytes, str]:
    """The body and Content-Type of Python 2's ``setup.py upload``: bare ``\\n`` line breaks,
    md5 only (a multipart form too loosely framed for a strict parser)."""
    boundary = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"
    fields = upload_fields(dist, sha256_digest=None, metadata_version="1.0", **overrides)
    body = b""
    for key, value in fields.items():
        body += f'\n--{boundary}\nContent-Disposition: form-data; name="{key}"\n\n{value}'.encode()
    body += (f'\n--{boundary}\nContent-Disposition: form-data; name="content"; '
             f'filename="{dist.filename}"\n\n').encode() + dist.data
    body += f"\n--{boundary}--\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def distutils_register_body(name: str = "demo", version: str = "1.0") -> tuple[bytes, str]:
    """The body and Content-Type of Python 2.7's ``setup.py register`` (``post_to_server``):
    ``\\n--boundary``, ``\\nContent-Disposition``, ``\\n\\n``, the value, for every field and
    each value of a list, then ``\\n--boundary--\\n``; never a ``\\r``."""
    boundary = "--------------GHSKFJDLGDS7543FJKLFHRE75642756743254"
    data = {
        ":action": "submit", "metadata_version": "1.0", "name": name, "version": version,
        "summary": "A test project", "home_page": "UNKNOWN", "author": "Someone",
        "license": "MIT", "description": "Line one.\n\nLine two.",
        "classifiers": ["Programming Language :: Python :: 2", "License :: OSI Approved"],
        "platform": "UNKNOWN",
    }
    chunks = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            chunks += [f"\n--{boundary}", f'\nContent-Disposition: form-data; name="{key}"',
                       "\n\n", one]
    chunks += [f"\n--{boundary}--", "\n"]
    return "".join(chunks).encode(), f"multipart/form-data; boundary={boundary}"


def make_zip(filename: str, members: dict[str, bytes], name: str = "demo",
             version: str = "1.0") -> Dist:
    """A zip archive of exactly ``members`` named ``filename``: for wheels that are malformed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return Dist(filename, buffer.getvalue(), name, version)


def bomb_wheel(name: str = "demo", version: str = "1.0", *, metadata_size: int) -> Dist:
    """A wheel whose METADATA (valid headers, then a README of spaces) decompresses to
    ``metadata_size`` bytes: a small file that expands enormously (a decompression bomb)."""
    dist_name = canonicalize_name(name).replace("-", "_")
    head = metadata_text(name, version).encode() + b"\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{dist_name}/__init__.py", b"")
        info = zipfile.ZipInfo(f"{dist_name}-{version}.dist-info/METADATA", (2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as member:
            member.write(head)
            chunk = b" " * (1 << 20)
            left = metadata_size - len(head)
            while left > 0:
                member.write(chunk[:left])
                left -= len(chunk)
    return Dist(f"{dist_name}-{version}-py3-none-any.whl", buffer.getvalue(), name, version)


def pax_bomb_sdist(name: str = "demo", version: str = "1.0", *, header_size: int) -> Dist:
    """An sdist whose first tar member is a pax header of ``header_size`` bytes of zeros: tarfile
    reads a pax header whole into memory, so a small .tar.gz asks for that much."""
    base = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, header_size
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as out:
        out.write(header.tobuf(tarfile.USTAR_FORMAT))
        chunk = bytes(1 << 20)
        left = header_size + (-header_size % tarfile.BLOCKSIZE)
        while left > 0:
            out.write(chunk[:left])
            left -= len(chunk)
        out.write(tar_gz({f"{base}/PKG-INFO": metadata_text(name, version).encode()}, mode="w:"))
    return Dist(f"{base}.tar.gz", buffer.getvalue(), name, version)


def multipart_around(dist: Dist, boundary: str,
                     part_headers: str = "Content-Type: application/octet-stream\r\n"
                     ) -> tuple[bytes, bytes]:
    """A CRLF upload form for ``dist``: the bytes before its file's bytes, and after them."""
    head = b""
    for key, value in upload_fields(dist).items():
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                 f"{value}\r\n").encode()
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
             f'filename="{dist.filename}"\r\n{part_headers}\r\n').encode()
    return head, f"\r\n--{boundary}--\r\n".encode()
