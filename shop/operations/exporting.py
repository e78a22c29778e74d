"""Exporting a repository's hosted files (``localshop export DIR``): each uploaded file as
``DIR/<project>/<filename>`` (and its PEP 740 provenance object, if it has one, beside it as
``<filename>.provenance``), and a manifest (``catalogs.MANIFEST``) of what the files do not
carry: uploader, upload time, yank and its reason, the provenance's sha256 and size, the
projects' owners and PEP 792 status.
``localshop import DIR`` reads both back (``shop.operations.importing``).

The export only reads the database (beside a running server too). Each file is copied while
hashed and checked against its record; the manifest is written last, so a directory
without one is an export that did not finish.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from shop.model import repositories
from shop.model.tree import Package, ReleaseFile, Repository
from shop.operations.catalogs import (MANIFEST, MANIFEST_FORMAT, MANIFEST_VERSION,
                                     PROVENANCE_SUFFIX, iso_time)
from shop.operations.check import Progress, no_progress

CHUNK = 1024 * 1024
CACHE_EVERY = 1000  # projects looked at between trimming the connection's cache
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class ExportFailed(Exception):
    """An export that cannot be made; the message says why."""


@dataclass
class Exported:
    """What an export wrote, and the files it could not (their bytes are not what is recorded)."""

    directory: Path
    projects: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"Exported {self.files} files ({self.bytes} bytes) of {self.projects} projects"
                f" to {self.directory}, with {MANIFEST}"
                + (f"; {len(self.problems)} files not exported" if self.problems else ""))


def export_repository(repository: Repository, directory: Path,
                      progress: Progress = no_progress) -> Exported:
    """Write the hosted files of ``repository`` and their manifest into ``directory`` (new or
    empty)."""
    _check_empty(directory)
    exported = Exported(directory)
    projects = []
    bar = progress(desc="export", total=len(repository), unit="project")
    try:
        for i, package in enumerate(repository.values()):
            files = _hosted_files(package)
            if files:
                projects.append(_export_project(package, files, directory, exported))
            bar.update(1)
            if i % CACHE_EVERY == CACHE_EVERY - 1:
                repository._p_jar.cacheGC()
    finally:
        bar.close()
    _write_manifest(directory, repository, projects)
    return exported


def _check_empty(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ExportFailed(f"{directory} is not an empty directory: export into a new one.")
    directory.mkdir(parents=True, exist_ok=True)


def _hosted_files(package: Package) -> list[ReleaseFile]:
    """The project's uploaded files (not upstream's), oldest first."""
    if not package.hosted:
        return []
    files = [f for release in package.values() for f in repositories.uploaded_files(release)]
    return sorted(files, key=lambda f: (f.upload_time or EPOCH, f.filename))


def _export_project(package: Package, files: list[ReleaseFile], directory: Path,
                    exported: Exported) -> dict:
    """Copy a project's files into ``directory/<project>/``; its entry of the manifest."""
    (directory / package.__name__).mkdir()
    entries = []
    for file in files:
        path = f"{package.__name__}/{file.filename}"
        problem = _copy_file(file, directory / path)
        if problem:
            exported.problems.append(f"{path}: {problem}")
            continue
        exported.files, exported.bytes = exported.files + 1, exported.bytes + file.size
        entries.append(_file_entry(file, path))
    exported.projects += 1
    return {"name": package.name, "owners": sorted(package.owners),
            "status": package.status, "status_reason": package.status_reason or "",
            "files": entries}


def _file_entry(file: ReleaseFile, path: str) -> dict:
    """What the manifest says of one exported file."""
    return {
        "path": path, "sha256": file.sha256, "size": file.size,
        "uploader": file.uploader, "upload_time": iso_time(file.upload_time) if file.upload_time else None,
        "yanked": bool(file.yanked), "yanked_reason": file.yanked_reason or "",
        "provenance_sha256": file.provenance_sha256 if file.provenance is not None else None,
        "provenance_size": file.provenance_size if file.provenance is not None else None,
    }


def _copy_file(file: ReleaseFile, target: Path) -> str | None:
    """Copy the file's bytes, and its provenance object beside them; what is wrong, if anything
    (then neither is left)."""
    if file.blob is None:
        return "no stored bytes"
    problem = _copy_blob(file.blob, file.sha256, target)
    if problem:
        return f"its stored bytes hash to {problem}"
    if file.provenance is not None:
        sidecar = target.with_name(target.name + PROVENANCE_SUFFIX)
        problem = _copy_blob(file.provenance, file.provenance_sha256, sidecar)
        if problem:
            target.unlink()
            return f"its provenance hashes to {problem}"
    return None


def _copy_blob(blob, sha256: str | None, target: Path) -> str | None:
    """Copy ``blob`` to ``target`` while hashed; what is wrong with its bytes, if anything."""
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    with blob.open("r") as source, open(partial, "wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        partial.unlink()
        return (f"sha256 {digest.hexdigest()}, not the recorded {sha256}: not exported"
                " (run 'localshop check')")
    os.replace(partial, target)
    return None


def _write_manifest(directory: Path, repository: Repository, projects: list[dict]) -> None:
    manifest = {
        "format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
        "repository": repository.__name__,
        "exported": iso_time(datetime.datetime.now(datetime.timezone.utc)),
        "projects": projects,
    }
    partial = directory / (MANIFEST + ".part")
    partial.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, directory / MANIFEST)
