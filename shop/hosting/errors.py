"""The one error of hosting: an upload that must be refused, and the HTTP status to answer."""
from __future__ import annotations

from shop.scratch import is_disk_full

INSUFFICIENT_STORAGE = "Insufficient storage: the server's disk is full; nothing was stored"


__all__ = ["INSUFFICIENT_STORAGE", "UploadError", "insufficient_storage", "is_disk_full"]


class UploadError(Exception):
    """An upload that must be refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def insufficient_storage() -> UploadError:
    """The refusal of an upload that found no room on the disk: 507."""
    return UploadError(INSUFFICIENT_STORAGE, 507)
