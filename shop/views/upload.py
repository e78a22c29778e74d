"""The legacy upload API that twine, uv and ``setup.py upload`` speak (POST to the repository)."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, status_map
from pyramid.response import Response
from pyramid.view import view_config

from shop.model.permissions import Permission
from shop.hosting.errors import UploadError
from shop.hosting.forms import UploadForm
from shop.hosting.publishing import publish
from shop.hosting.receiving import receive_form
from shop.hosting.validation import check_action, check_upload_size
from shop.model.tree import Repository
from shop.storage import temporary_directory
from shop.views import http_error

def _text(message: str, status: int = 200) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain", charset="utf-8")


def _error(status: int, message: str):
    return http_error(status_map.get(status, HTTPBadRequest), message)


def read_form(request, max_size: int) -> UploadForm:
    """The upload form; its file streamed to the blob filesystem while being hashed."""
    fields, received = receive_form(
        request.body_file_seekable, request.headers.get("Content-Type", ""),
        request.content_length, temporary_directory(request.shop.db), max_size,
        query=request.GET, lenient_params=lambda: request.POST,
    )
    return UploadForm.from_fields(fields, received)


@view_config(context=Repository, request_method="POST", permission=Permission.UPLOAD, require_csrf=False)
def upload(context: Repository, request) -> Response:
    max_size = request.shop.settings.max_upload_size
    try:
        check_upload_size(request.content_length, max_size)
        form = read_form(request, max_size)
        try:
            action = check_action(form)
            if action == "submit":
                return _text("OK: registering a project is not needed here; upload its files.")
            if action == "doc_upload":
                raise UploadError("Documentation upload is not supported by this index.", 410)
            result = publish(
                context, form, request.authenticated_userid,
                may_release=lambda package: bool(request.has_permission(Permission.RELEASE, package)),
            )
        finally:
            form.discard()
    except UploadError as e:
        raise _error(e.status, e.message) from None
    return _text(result.message)
