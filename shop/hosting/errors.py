"""The one error of hosting: an upload that must be refused, and the HTTP status to answer."""
from __future__ import annotations

import errno

# The errors of a disk (or a quota) with no room left: nothing that needs the space can work.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
INSUFFICIENT_STORAGE = "Insufficient storage: the server's disk is full; nothing was stored"


class UploadError(Exception):
    """An upload that must be refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is the disk (or the quota) having no room left."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS


def insufficient_storage() -> UploadError:
    """The refusal of an upload that found no room on the disk: 507."""
    return UploadError(INSUFFICIENT_STORAGE, 507)
