"""Accepting an upload: validate the form and the file, stream it into a blob, add it to the tree."""
from __future__ import annotations

import hashlib
import tarfile
import zipfile
from dataclasses import dataclass
from typing import BinaryIO, Callable

from packaging.metadata import parse_email
from packaging.version import InvalidVersion, Version
from ZODB.blob import Blob

from shop.hosting.errors import UploadError
from shop.hosting.forms import UploadForm
from shop.hosting.receiving import ReceivedFile
from shop.model import names
from shop.model.tree import Package, Release, ReleaseFile, Repository, blob_from_file

FILETYPES = {"sdist": "sdist", "bdist_wheel": "bdist_wheel"}


@dataclass
class UploadResult:
    file: ReleaseFile
    created: bool
    message: str


def check_action(form: UploadForm) -> str:
    """The upload action, after checking the protocol version; raise UploadError otherwise."""
    if form.protocol_version not in (None, "", "1"):
        raise UploadError(f"Unsupported protocol_version {form.protocol_version!r}: only 1 is known.")
    if not form.action:
        raise UploadError("Missing ':action': send ':action=file_upload' to upload a file.")
    if form.action not in ("file_upload", "submit", "doc_upload"):
        raise UploadError(f"Unknown :action {form.action!r}: use 'file_upload'.")
    return form.action


def publish(repository: Repository, form: UploadForm, uploader: str,
            may_release: Callable[[Package], bool] | None = None) -> UploadResult:
    """Store an uploaded distribution (its received file) in ``repository``; raise UploadError
    if it is refused.

    ``may_release(package)`` says whether the uploader may add to a project someone already
    hosts here (the view asks the security policy: its owners, the repository's owners,
    admins); without it, only the project's owners may. Nothing is added to the tree
    until every check has passed; the caller's transaction (pyramid_tm) discards the blob
    if anything is raised. The received file is discarded whatever happens.
    """
    try:
        return _publish(repository, form, uploader, may_release)
    finally:
        form.discard()  # a no-op once the blob has consumed the file


def _publish(repository, form, uploader, may_release) -> UploadResult:
    dist = _check_form(form)
    key = names.version_key(form.version)
    package = repository.get(dist.project)
    if may_release is None:
        may_release = lambda package: uploader in package.owners  # noqa: E731
    if package is not None and package.hosted and not may_release(package):
        owners = ", ".join(package.owners) or "nobody"
        raise UploadError(
            f"Forbidden: {uploader} may not upload to project {package.name}: it belongs to "
            f"{owners}. Ask one of them (or a repository owner) to add you as an owner.",
            403,
        )
    release = package.get(key) if package is not None else None
    existing = release.get(dist.filename) if release is not None else None

    return _store(repository, form, dist, key, package, release, existing, form.content, uploader)


def _store(repository, form, dist, key, package, release, existing, received: ReceivedFile,
           uploader: str) -> UploadResult:
    size, hashes = received.size, received.hashes
    if size == 0:
        raise UploadError(f"Empty file: {dist.filename} has no bytes.")
    _check_digests(form.digests, hashes, received)
    if existing is not None:
        if existing.origin == "mirror":
            raise UploadError(
                f"File already exists: {dist.filename} is mirrored from upstream "
                f"(sha256 {existing.sha256}). Bump the version to upload your own."
            )
        if existing.sha256 == hashes["sha256"]:
            return UploadResult(existing, False, f"{dist.filename} is already stored with these bytes.")
        raise UploadError(
            f"File already exists: {dist.filename} (sha256 {existing.sha256}). "
            "Bump the version to upload changed bytes.",
            status=400,
        )

    with open(received.path, "rb") as f:
        core_metadata = _check_contents(f, dist)

    message = f"Stored {dist.filename} in {repository.__name__}."
    if package is None:
        package = repository.add(dist.project, Package(form.name))
    elif not package.hosted and dist.project not in repository.merge_allowed:
        message += (
            f" {dist.project} was mirrored from upstream: from now on this repository offers only"
            " its own files of it (dependency-confusion protection). To offer upstream's files"
            " too, add the project to the repository's merge allow-list."
        )
    if release is None:
        release = package.add(key, Release(form.version, metadata=_release_metadata(form)))
    file = ReleaseFile(
        dist.filename,
        packagetype=dist.packagetype,
        size=size,
        sha256=hashes["sha256"],
        md5=hashes["md5"],
        blake2_256=hashes["blake2_256"],
        uploader=uploader,
        requires_python=form.metadata.get("requires_python") or None,
        python_version=form.pyversion or ("source" if dist.packagetype == "sdist" else None),
        blob=blob_from_file(repository._p_jar, received.path),
    )
    if core_metadata is not None:
        file.core_metadata = Blob(core_metadata)
        file.core_metadata_sha256 = hashlib.sha256(core_metadata).hexdigest()
        file.core_metadata_size = len(core_metadata)
    release.add(dist.filename, file)
    if not package.hosted:
        package.owners.add(uploader)  # the first uploader owns the project
        package.hosted = True
    return UploadResult(file, True, message)


def _check_form(form: UploadForm) -> names.DistFilename:
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


def _check_digests(given: dict[str, str], actual: dict[str, str], received: ReceivedFile) -> None:
    if not given:
        raise UploadError(
            "Missing digest: send at least one of md5_digest, sha256_digest, blake2_256_digest."
        )
    for algo, value in given.items():
        computed = actual[algo]
        if algo == "blake2_256" and len(value) == 128:
            # distutils' upload command sends a full BLAKE2b-512 under this name.
            with open(received.path, "rb") as f:
                computed = hashlib.file_digest(f, "blake2b").hexdigest()
        if value != computed:
            raise UploadError(
                f"Wrong {algo}_digest for {received.filename}: the client sent {value}, "
                f"the received bytes hash to {computed}. The upload was damaged; try again."
            )


def _check_contents(f: BinaryIO, dist: names.DistFilename) -> bytes | None:
    """Check the file is the archive its name says; return a wheel's METADATA bytes."""
    if dist.packagetype == "bdist_wheel":
        return _wheel_metadata(f, dist)
    if dist.filename.endswith(".zip"):
        if not zipfile.is_zipfile(f):
            raise UploadError(f"Invalid sdist {dist.filename}: it is not a zip archive.")
        return None
    try:
        with tarfile.open(fileobj=f, mode="r:gz") as tar:
            tar.next()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise UploadError(f"Invalid sdist {dist.filename}: not a gzipped tar archive ({e}).") from None
    return None


def _wheel_metadata(f: BinaryIO, dist: names.DistFilename) -> bytes:
    try:
        with zipfile.ZipFile(f) as wheel:
            candidates = [
                n for n in wheel.namelist()
                if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            mine = [n for n in candidates if _dist_info_matches(n, dist)]
            if not mine:
                raise UploadError(
                    f"Invalid wheel {dist.filename}: no {dist.project}-{dist.version}.dist-info/METADATA in it."
                )
            data = wheel.read(mine[0])
    except (zipfile.BadZipFile, OSError, EOFError) as e:
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


def _dist_info_matches(path: str, dist: names.DistFilename) -> bool:
    directory = path.split("/", 1)[0][: -len(".dist-info")]
    name, _, version = directory.rpartition("-")
    try:
        return names.normalize(name) == dist.project and Version(version) == dist.version
    except InvalidVersion:
        return False


def _release_metadata(form: UploadForm) -> dict:
    metadata = dict(form.metadata)
    metadata["name"] = form.name
    metadata["version"] = form.version
    return metadata
