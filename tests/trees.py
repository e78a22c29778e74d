"""Builders of tree content for tests that need many files in a database at once (retention)."""
from __future__ import annotations

import hashlib

from ZODB.blob import Blob

from shop.model import names
from shop.model.tree import Package, Release, ReleaseFile


def add_file(repository, project: str, version: str, *, origin: str = "upload",
             size: int = 100, stored: bool = True, suffix: str = "py3-none-any.whl") -> ReleaseFile:
    """A file of ``project`` ``version`` (hosted unless ``origin`` is "mirror"), its bytes stored."""
    key = names.normalize(project)
    package = repository.get(key) or repository.add(key, Package(project))
    package.hosted = package.hosted or origin == "upload"
    release = package.get(names.version_key(version)) or package.add(
        names.version_key(version), Release(version))
    data = (hashlib.sha256(f"{project}{version}{suffix}".encode()).digest() * (size // 32 + 1))[:size]
    file = ReleaseFile(f"{key.replace('-', '_')}-{version}-{suffix}", packagetype="bdist_wheel",
                       size=size, sha256=hashlib.sha256(data).hexdigest(),
                       blob=Blob(data) if stored else None)
    if origin == "mirror":
        file.origin = "mirror"
    release.add(file.filename, file)
    return file
