"""Requests whose path, query string or form is not UTF-8: a 400 that says which, before any
view, traversal or CSRF check decodes them (WebOb and Pyramid raise, or silently replace)."""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import MAIN
from pyramid.view import exception_view_config

from shop.views import http_error

FORM = "application/x-www-form-urlencoded"
# Forms above this are not read here: the views refuse what is too large before reading it.
FORM_CHECKED = 1024 * 1024
# The bodies WebOb parses as a form (``request.POST``): it raises for any charset but UTF-8.
FORMS = (FORM, "multipart/form-data")


def undecodable_part(request) -> str | None:
    """Which part of the request is not UTF-8 (the path, the query string, the form), or None."""
    environ = request.environ
    # WSGI gives the percent-decoded path as latin-1 text: its bytes are the client's.
    parts = [("path", environ.get("PATH_INFO", "").encode("latin-1", "replace")),
             ("query string", unquote_to_bytes(environ.get("QUERY_STRING", "").replace("+", " ")))]
    form = request.content_type in FORMS or (request.method == "POST" and not request.content_type)
    if form and request.charset != "UTF-8":  # WebOb spells every alias of UTF-8 so
        return f"form (sent as {request.charset[:40]})"
    if request.content_type == FORM and 0 < (request.content_length or 0) <= FORM_CHECKED:
        # WebOb would replace what is not UTF-8 with U+FFFD, and the forms would store it.
        parts.append(("form", unquote_to_bytes(request.body.replace(b"+", b" "))))
    for part, raw in parts:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return part
    return None


def not_utf8(part: str) -> HTTPBadRequest:
    """The 400 for a part of the request that is not UTF-8."""
    return http_error(HTTPBadRequest, f"Bad request: the {part} is not valid UTF-8;"
                      " percent-encode the UTF-8 bytes of the text instead.")


def utf8_tween_factory(handler, registry):
    """Refuse a request that is not UTF-8 before traversal, the CSRF check or a view reads it."""

    def tween(request):
        part = undecodable_part(request)
        if part is not None:
            raise not_utf8(part)
        return handler(request)

    return tween


@exception_view_config(URLDecodeError)
def undecodable(request):
    """Pyramid could not decode the URL (the tween should have refused it first): a 400 too.

    Not every UnicodeDecodeError: one from our own code or an upstream's answer is a bug or
    the upstream's fault, not a bad request.
    """
    return not_utf8(undecodable_part(request) or "URL")


def includeme(config) -> None:
    """The tween inside the exception views, so that its 400 is answered like any other."""
    config.add_tween("shop.views.decoding.utf8_tween_factory", over=MAIN)
