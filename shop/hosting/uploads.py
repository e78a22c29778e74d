"""The one way in for an upload form: its action checked, then done (a file published)."""
from __future__ import annotations

from typing import Callable

from shop.hosting.errors import UploadError
from shop.hosting.forms import UploadForm
from shop.hosting.publishing import publish
from shop.hosting.validation import check_action, check_limits
from shop.model.tree import Package, ReleaseFile, Repository

SUBMITTED = "OK: registering a project is not needed here; upload its files."


def upload(repository: Repository, form: UploadForm, uploader: str,
           may_release: Callable[[Package], bool],
           stored: Callable[[ReleaseFile], None] = lambda file: None) -> str:
    """Do what the form's ``:action`` asks; the reply's text, or UploadError. ``stored(file)``
    is told of a file published (not of a byte-identical one uploaded again).

    The form's received file is discarded on every path (once stored, it is the blob's), so
    a refused upload leaves no file behind.
    """
    try:
        check_limits(form)
        action = check_action(form)
        if action == "submit":
            return SUBMITTED
        if action == "doc_upload":
            raise UploadError("Documentation upload is not supported by this index.", 410)
        result = publish(repository, form, uploader, may_release)
        if result.created:
            stored(result.file)
        return result.message
    finally:
        form.discard()
