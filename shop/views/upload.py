"""The legacy upload API that twine, uv and ``setup.py upload`` speak (POST to the repository)."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, status_map
from pyramid.response import Response
from pyramid.view import view_config

from shop.hosting import uploads
from shop.hosting.errors import UploadError, insufficient_storage, is_disk_full
from shop.hosting.forms import UploadForm
from shop.hosting.receiving import receive_form
from shop.hosting.validation import check_upload_size
from shop.meters import UPLOAD
from shop.model import names
from shop.model.permissions import Permission
from shop.model.tree import Repository, repository_of
from shop.storage import temporary_directory
from shop.views import http_error
from shop.views.simple import retry_when_pending


def read_form(request, max_size: int) -> UploadForm:
    """The upload form; its file streamed to the blob filesystem while being hashed."""
    check_upload_size(request.content_length, max_size)
    fields, received = receive_form(
        request.body_file_seekable, request.headers.get("Content-Type", ""),
        request.content_length, temporary_directory(request.shop.db), max_size,
        query=request.GET, lenient_params=lambda: request.POST,
    )
    if received is not None:  # held until pyramid_tm has committed or aborted its blob
        request.add_finished_callback(lambda request: received.release())
    return UploadForm.from_fields(fields, received)


@view_config(context=Repository, request_method="POST", permission=Permission.UPLOAD, require_csrf=False)
def upload(context: Repository, request) -> Response:
    try:
        form = read_form(request, request.shop.settings.max_upload_size)
        if form.name and names.is_valid_name(form.name):  # upstream's files, as just served
            retry_when_pending(request, context, names.normalize(form.name))
        reply = uploads.upload(
            context, form, request.authenticated_userid,
            may_release=lambda package: bool(request.has_permission(Permission.RELEASE, package)),
            stored=lambda file: count_once_committed(request, file),
        )
    except OSError as e:
        if not is_disk_full(e):
            raise
        raise refused(insufficient_storage()) from None
    except UploadError as e:
        raise refused(e) from None
    return Response(reply + "\n", content_type="text/plain", charset="utf-8")


def count_once_committed(request, file) -> None:
    """Note the upload of ``file`` when the request's transaction has committed it (an abort
    or a retry publishes nothing)."""
    repository, size, meters = repository_of(file).__name__, file.size, request.shop.meters

    def committed(success: bool) -> None:
        if success:
            meters.note(UPLOAD, size, repository=repository)

    request.tm.get().addAfterCommitHook(committed)


def refused(error: UploadError):
    """The HTTP error of a refused upload: its status, with its message as reason and body."""
    return http_error(status_map.get(error.status, HTTPBadRequest), error.message)
