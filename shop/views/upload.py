"""The legacy upload API that twine, uv and ``setup.py upload`` speak (POST to the repository)."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge, status_map
from pyramid.response import Response
from pyramid.view import view_config

from ..permissions import Permission
from ..publishing import UploadError, UploadForm, check_action, publish
from ..resources import Repository
from . import http_error

# Multipart framing around the file: the limit applies to the file, not to the form.
FORM_OVERHEAD = 1024 * 1024


def _text(message: str, status: int = 200) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain", charset="utf-8")


@view_config(context=Repository, request_method="POST", permission=Permission.UPLOAD, require_csrf=False)
def upload(context: Repository, request) -> Response:
    max_size = request.registry.shop_settings.max_upload_size
    if request.content_length and request.content_length > max_size + FORM_OVERHEAD:
        raise http_error(
            HTTPRequestEntityTooLarge,
            f"Upload too large: {request.content_length} bytes, more than the {max_size} bytes "
            "this index accepts (shop.max_upload_size).",
        )
    try:
        form = UploadForm.from_params(request.params)
        action = check_action(form)
        if action == "submit":
            return _text("OK: registering a project is not needed here; upload its files.")
        if action == "doc_upload":
            raise UploadError("Documentation upload is not supported by this index.", 410)
        result = publish(
            context, form, request.authenticated_userid, max_size,
            may_manage=lambda package: bool(request.has_permission(Permission.MANAGE, package)),
        )
    except UploadError as e:
        raise http_error(status_map.get(e.status, HTTPBadRequest), e.message) from None
    except ValueError as e:  # a malformed multipart body
        raise http_error(HTTPBadRequest, f"Malformed upload form: {e}") from None
    return _text(result.message)

