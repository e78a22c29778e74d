"""The legacy upload API that twine, uv and ``setup.py upload`` speak (POST to the repository)."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, status_map
from pyramid.response import Response
from pyramid.view import view_config
from webob.multidict import NestedMultiDict

from shop.model.permissions import Permission
from shop.hosting.publishing import UploadError, UploadForm, check_action, publish
from shop.hosting.receiving import ReceiveError, parse_form
from shop.model.tree import Repository
from shop.storage import temporary_directory
from shop.views import http_error

# Multipart framing around the file: the limit applies to the file, not to the form.
FORM_OVERHEAD = 1024 * 1024


def _text(message: str, status: int = 200) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain", charset="utf-8")


def _error(status: int, message: str):
    return http_error(status_map.get(status, HTTPBadRequest), message)


def read_form(request, max_size: int) -> UploadForm:
    """The upload form; its file streamed to the blob filesystem while being hashed."""
    if request.content_type != "multipart/form-data":  # a form without a file part at all
        return UploadForm.from_params(request.params)
    tmp_dir = temporary_directory(request.shop.db)
    body = request.body_file_seekable
    body.seek(0)  # a retried request (ConflictError) reads the same body again
    try:
        fields, received = parse_form(
            body, request.headers["Content-Type"],
            request.content_length, tmp_dir, max_size,
        )
    except ReceiveError as e:
        if e.status != 400:
            raise _error(e.status, str(e)) from None
        # Very old clients frame their forms loosely; the stdlib's parser is lenient.
        try:
            form = UploadForm.from_params(request.params)
        except ValueError:
            form = None
        if form is None or form.content is None:
            raise _error(400, str(e)) from None
        return form
    # ``:action`` may come in the query string.
    return UploadForm.from_params(NestedMultiDict(fields, request.GET), received)


@view_config(context=Repository, request_method="POST", permission=Permission.UPLOAD, require_csrf=False)
def upload(context: Repository, request) -> Response:
    max_size = request.shop.settings.max_upload_size
    if request.content_length and request.content_length > max_size + FORM_OVERHEAD:
        raise http_error(
            HTTPRequestEntityTooLarge,
            f"Upload too large: {request.content_length} bytes, more than the {max_size} bytes "
            "this index accepts (shop.max_upload_size).",
        )
    form = read_form(request, max_size)
    try:
        action = check_action(form)
        if action == "submit":
            return _text("OK: registering a project is not needed here; upload its files.")
        if action == "doc_upload":
            raise UploadError("Documentation upload is not supported by this index.", 410)
        result = publish(
            context, form, request.authenticated_userid, max_size,
            may_release=lambda package: bool(request.has_permission(Permission.RELEASE, package)),
        )
    except UploadError as e:
        raise _error(e.status, e.message) from None
    finally:
        if hasattr(form.content, "discard"):
            form.content.discard()
    return _text(result.message)
