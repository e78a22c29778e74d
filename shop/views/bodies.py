"""Request bodies outside uploads: refused over a size or field count before anything reads
them (the CSRF check parses ``request.POST`` whole, in the view deriver, for any client)."""
from __future__ import annotations

from pyramid.events import ContextFound, subscriber
from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge

from shop.model.tree import Repository
from shop.views import http_error
from shop.views.decoding import FORM, MULTIPART, boundary

# Every form and JSON body but an upload fits many times over in this (Django allows 2.5 MB).
MAX_BODY = 1024 * 1024
# The largest admin form has a few dozen fields; Django's DATA_UPLOAD_MAX_NUMBER_FIELDS.
MAX_FIELDS = 1000


def is_upload(request) -> bool:
    """Whether this is the POST to a repository that ``shop.views.upload`` answers."""
    return request.method == "POST" and isinstance(request.context, Repository) and not request.view_name


def field_count(request) -> int:
    """How many fields the form body holds, counted without parsing it."""
    if request.content_type == FORM:
        return request.body.count(b"&") + 1
    # Each part opens with the delimiter, and one more closes the last.
    delimiter = b"--" + boundary(request).encode("latin-1", "replace")
    return request.body.count(delimiter) - 1


@subscriber(ContextFound)
def limit_body(event: ContextFound) -> None:
    """Refuse a body that is not an upload over MAX_BODY bytes, or a form over MAX_FIELDS."""
    request = event.request
    size = request.content_length or 0
    if size == 0 or is_upload(request):
        return
    if size > MAX_BODY:
        raise http_error(HTTPRequestEntityTooLarge, f"Request body too large: {size} bytes;"
                         f" at most {MAX_BODY} are accepted outside uploads.")
    if request.content_type in (FORM, MULTIPART) and field_count(request) > MAX_FIELDS:
        raise http_error(HTTPBadRequest, f"Too many form fields: at most {MAX_FIELDS}"
                         " are accepted.")
