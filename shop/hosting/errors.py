"""The one error of hosting: an upload that must be refused, and the HTTP status to answer."""
from __future__ import annotations


class UploadError(Exception):
    """An upload that must be refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
