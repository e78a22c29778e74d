"""Every check of an upload, each raising UploadError with the status and a reason to act on.

The request's size, the action, the form's fields, who may add to the project, the file's
digests, what it replaces, and whether it is the archive its name says (a wheel's METADATA
found with ``shop.model.wheels``). Only the limits that must hold while the body streams in
(the file's size as it arrives, an ordinary field's size) are enforced in ``receiving``.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zipfile
import zlib
from typing import BinaryIO, Callable

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version

from shop.hosting.errors import UploadError
from shop.hosting import forms
from shop.hosting.forms import UploadForm
from shop.hosting.receiving import ReceivedFile
from shop.model import names, status, wheels
from shop.model.blocks import blocklist_of
from shop.model.tree import Package, ReleaseFile

# Multipart framing around the file: the limit applies to the file, not to the form.
FORM_OVERHEAD = 1024 * 1024
ACTIONS = ("file_upload", "submit", "doc_upload")
SDIST_HEAD = 1024 * 1024  # bytes of an sdist decompressed to find its first tar header
FILETYPES = {"sdist": "sdist", "bdist_wheel": "bdist_wheel"}


def check_upload_size(content_length: int | None, max_size: int) -> None:
    """Refuse a request body that cannot hold a file of at most ``max_size`` bytes (413)."""
    if content_length and content_length > max_size + FORM_OVERHEAD:
        raise UploadError(
            f"Upload too large: {content_length} bytes, more than the {max_size} bytes "
            "this index accepts (shop.max_upload_size).",
            413,
        )


def check_action(form: UploadForm) -> str:
    """The upload action, after checking the protocol version; raise UploadError otherwise."""
    if form.protocol_version not in (None, "", "1"):
        raise UploadError(f"Unsupported protocol_version {form.protocol_version!r}: only 1 is known.")
    if not form.action:
        raise UploadError("Missing ':action': send ':action=file_upload' to upload a file.")
    if form.action not in ACTIONS:
        raise UploadError(f"Unknown :action {form.action!r}: use 'file_upload'.")
    return form.action


def check_limits(form: UploadForm) -> None:
    """Refuse (400) a form with a field longer than its limit, or too many values of one."""
    short = {":action": form.action, "protocol_version": form.protocol_version,
             "filetype": form.filetype, "pyversion": form.pyversion}
    short.update((f"{algo}_digest", value) for algo, value in form.digests.items())
    for key, value in short.items():
        _check_length(key, value, forms.SHORT_LENGTH)
    total = 0
    for key, value in form.metadata.items():
        values = value if isinstance(value, list) else [value]
        most = forms.FIELD_COUNTS.get(key, forms.MAX_VALUES)
        if len(values) > most:
            raise UploadError(f"Too many values of {key!r}: {len(values)}, more than {most}.")
        for one in values:
            _check_length(key, one, forms.FIELD_LENGTHS.get(key, forms.FIELD_LENGTH))
            total += len(one or "")
    if total > forms.METADATA_LENGTH:  # it is kept with the release and read by every /json
        raise UploadError(
            f"Metadata too large: {total} characters in all, more than {forms.METADATA_LENGTH}."
        )


def _check_length(key: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise UploadError(
            f"Field {key!r} is too long: {len(value)} characters, more than {limit}."
        )


def check_form(form: UploadForm) -> names.DistFilename:
    """The distribution the form uploads, once its fields and filename agree."""
    check_limits(form)
    if form.content is None or not form.filename:
        raise UploadError("Missing 'content': the file to upload goes in the 'content' field.")
    if not form.name:
        raise UploadError("Missing 'name': the project name is required.")
    if not form.version:
        raise UploadError("Missing 'version': the project version is required.")
    try:
        names.valid_name(form.name)
        version = names.parse_version(form.version)
        dist = names.parse_filename(form.filename)
    except names.InvalidName as e:
        raise UploadError(str(e)) from None
    if form.filetype not in FILETYPES:
        raise UploadError(
            f"Unknown filetype {form.filetype!r}: localshop accepts 'sdist' and 'bdist_wheel'."
        )
    if FILETYPES[form.filetype] != dist.packagetype:
        raise UploadError(
            f"filetype {form.filetype!r} does not match the filename {dist.filename!r}."
        )
    if dist.project != names.normalize(form.name):
        raise UploadError(
            f"Filename {dist.filename!r} is for project {dist.project!r}, not {form.name!r}."
        )
    if dist.version != version:
        raise UploadError(
            f"Filename {dist.filename!r} is for version {dist.version}, not {form.version}."
        )
    return dist


def check_may_release(package: Package | None, uploader: str,
                      may_release: Callable[[Package], bool], closed_ok: bool = False) -> None:
    """Refuse (403) an upload to a project hosted here that ``may_release`` does not allow;
    (400) one to a project whose status takes none (archived, quarantined), unless
    ``closed_ok`` (an import restoring such a project's files)."""
    if package is not None and package.hosted and not may_release(package):
        owners = ", ".join(package.owners) or "nobody"
        raise UploadError(
            f"Forbidden: {uploader} may not upload to project {package.name}: it belongs to "
            f"{owners}. Ask one of them (or a repository owner) to add you as an owner.",
            403,
        )
    closed = None if closed_ok else status.refuses_uploads(package)
    if closed is not None:
        raise UploadError(f"Bad request: {closed}")


def check_not_blocked(repository, dist: names.DistFilename) -> None:
    """Refuse (403) an upload of a version the block list covers: it would never be served."""
    blocklist = blocklist_of(repository)
    blocks = blocklist.for_project(dist.project, repository.__name__) if blocklist is not None else ()
    for block in blocks:
        if block.matches(str(dist.version)):
            raise UploadError(f"Forbidden: {dist.filename} is blocked ({block.spec}): "
                              f"{block.reason}. It would never be served here.", 403)


def check_received(digests: dict[str, str], received: ReceivedFile) -> None:
    """Refuse an empty file, and one whose bytes do not hash to every digest the form gives."""
    if received.size == 0:
        raise UploadError(f"Empty file: {received.filename} has no bytes.")
    if not digests:
        raise UploadError(
            "Missing digest: send at least one of md5_digest, sha256_digest, blake2_256_digest."
        )
    for algo, value in digests.items():
        computed = received.hashes[algo]
        if algo == "blake2_256" and len(value) == 128:
            # distutils' upload command sends a full BLAKE2b-512 under this name.
            with open(received.path, "rb") as f:
                computed = hashlib.file_digest(f, "blake2b").hexdigest()
        if value != computed:
            raise UploadError(
                f"Wrong {algo}_digest for {received.filename}: the client sent {value}, "
                f"the received bytes hash to {computed}. The upload was damaged; try again."
            )


def check_existing(existing: ReleaseFile | None, dist: names.DistFilename, sha256: str) -> bool:
    """Refuse other bytes under a stored file's name; True when these bytes are stored (a no-op)."""
    if existing is None:
        return False
    if existing.origin == "mirror":
        raise UploadError(
            f"File already exists: {dist.filename} is mirrored from upstream "
            f"(sha256 {existing.sha256}). Bump the version to upload your own."
        )
    if existing.sha256 == sha256:
        return True
    raise UploadError(
        f"File already exists: {dist.filename} (sha256 {existing.sha256}). "
        "Bump the version to upload changed bytes.",
        status=400,
    )


def check_contents(path: str, dist: names.DistFilename) -> bytes | None:
    """Check the file is the archive its name says; return a wheel's METADATA bytes."""
    with open(path, "rb") as f:
        if dist.packagetype == "bdist_wheel":
            return _wheel_metadata(f, dist)
        if dist.filename.endswith(".zip"):
            if not zipfile.is_zipfile(f):
                raise UploadError(f"Invalid sdist {dist.filename}: it is not a zip archive.")
            return None
        _check_tar_gz(f, dist)
    return None


def _check_tar_gz(f: BinaryIO, dist: names.DistFilename) -> None:
    """Refuse an sdist whose first tar header is not within its first SDIST_HEAD bytes.

    Only that much is decompressed: a tar's first header (and any pax header before it)
    is small, while seeking to a second member decompresses everything before it.
    """
    head = b""
    try:
        with gzip.GzipFile(fileobj=f) as unzipped:
            head = unzipped.read(SDIST_HEAD)
        with tarfile.open(fileobj=io.BytesIO(head), mode="r:"):
            pass
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        if len(head) == SDIST_HEAD:
            raise UploadError(
                f"Invalid sdist {dist.filename}: no tar header within its first {SDIST_HEAD} "
                "decompressed bytes, the limit of this index.", 413
            ) from None
        raise UploadError(f"Invalid sdist {dist.filename}: not a gzipped tar archive ({e}).") from None


def _wheel_metadata(f: BinaryIO, dist: names.DistFilename) -> bytes:
    """The wheel's own ``<project>-<version>.dist-info/METADATA``, once it names them too."""
    try:
        with zipfile.ZipFile(f) as wheel:
            mine = [n for n in wheels.metadata_names(wheel)
                    if wheels.dist_info_matches(n, dist.project, dist.version)]
            if not mine:
                raise UploadError(
                    f"Invalid wheel {dist.filename}: no {dist.project}-{dist.version}.dist-info/METADATA in it."
                )
            data = wheels.read_member(wheel, mine[0])
    except wheels.MetadataTooLarge:
        raise UploadError(
            f"Invalid wheel {dist.filename}: its METADATA is larger than {wheels.MAX_METADATA} "
            "bytes, the limit of this index.", 413
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
        raise UploadError(f"Invalid wheel {dist.filename}: it is not a zip archive ({e}).") from None
    raw, _unparsed = parse_email(data)
    name, version = raw.get("name"), raw.get("version")
    if not name or names.normalize(name) != dist.project:
        raise UploadError(f"Invalid wheel {dist.filename}: its METADATA names project {name!r}.")
    try:
        if Version(version or "") != dist.version:
            raise InvalidVersion
    except InvalidVersion:
        raise UploadError(
            f"Invalid wheel {dist.filename}: its METADATA says version {version!r}."
        ) from None
    return data
