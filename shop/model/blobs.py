"""Blobs made from files: the bytes of uploads and mirrored files become blobs by a rename."""
from __future__ import annotations

from ZODB.blob import Blob


def blob_from_file(jar, path: str) -> Blob:
    """A new blob that takes over the file at ``path`` (a rename when it lies beside the blobs).

    The blob joins the connection first, so that its uncommitted file lives in the storage's
    own temporary directory rather than in the system's.
    """
    blob = Blob()
    if jar is not None:
        jar.add(blob)
    blob.consumeFile(path)
    return blob


def uncommitted_path(blob: Blob) -> str | None:
    """Where a blob's bytes wait for the commit (ZODB removes them only when it is collected)."""
    return blob._p_blob_uncommitted
