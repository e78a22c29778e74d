"""Requests whose path, query string or form is not UTF-8, or a multipart form without a
boundary: a 400 that says which, before any view, traversal or CSRF check decodes them (WebOb
and Pyramid raise, or silently replace); conditional headers that are not dates are ignored."""
from __future__ import annotations

from email.message import Message
from urllib.parse import unquote_to_bytes

from pyramid.exceptions import URLDecodeError
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import MAIN
from pyramid.view import exception_view_config

from shop.views import READ, http_error

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Forms above this are not read here: shop.views.bodies refuses them, unread, after traversal.
FORM_CHECKED = 1024 * 1024
# The bodies WebOb parses as a form (``request.POST``): it raises for any charset but UTF-8.
FORMS = (FORM, MULTIPART)
# WebOb's parsed properties for the date-valued conditional headers (If-Range may be a date).
CONDITIONALS = {"HTTP_IF_MODIFIED_SINCE": "if_modified_since",
                "HTTP_IF_UNMODIFIED_SINCE": "if_unmodified_since", "HTTP_IF_RANGE": "if_range"}


def undecodable_part(request) -> str | None:
    """Which part of the request is not UTF-8 (the path, the query string, the form), or None."""
    environ = request.environ
    # WSGI gives the percent-decoded path as latin-1 text: its bytes are the client's.
    # Every WSGI string is latin-1 text of the client's bytes (PEP 3333), QUERY_STRING too.
    query = environ.get("QUERY_STRING", "").encode("latin-1", "replace")
    parts = [("path", environ.get("PATH_INFO", "").encode("latin-1", "replace")),
             ("query string", unquote_to_bytes(query.replace(b"+", b" ")))]
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


def boundary(request) -> str:
    """The multipart boundary the request's Content-Type names, or ''."""
    header = Message()
    header["Content-Type"] = request.headers.get("Content-Type", "")
    return str(header.get_param("boundary") or "")


def not_utf8(part: str) -> HTTPBadRequest:
    """The 400 for a part of the request that is not UTF-8."""
    return http_error(HTTPBadRequest, f"Bad request: the {part} is not valid UTF-8;"
                      " percent-encode the UTF-8 bytes of the text instead.")


def ignore_invalid_dates(request) -> None:
    """Drop a conditional header that is not a valid HTTP-date: RFC 9110 says to ignore it
    (WebOb's conditional response would raise, past the exception views)."""
    for key, prop in CONDITIONALS.items():
        if key in request.environ:
            try:
                getattr(request, prop)
            except (ValueError, OverflowError):
                del request.environ[key]


def forget_bodiless_form(request) -> None:
    """Drop the form Content-Type of a request without a body (some Java clients send one, in
    ISO-8859-1, on every GET): there is no form to decode, but WebOb would raise for it."""
    if request.content_type in FORMS and not request.content_length:
        del request.environ["CONTENT_TYPE"]


def utf8_tween_factory(handler, registry):
    """Refuse a request that is not UTF-8 before traversal, the CSRF check or a view reads it."""

    def tween(request):
        forget_bodiless_form(request)
        part = undecodable_part(request)
        if part is not None:
            raise not_utf8(part)
        if (request.content_type == MULTIPART and request.method not in READ
                and not boundary(request)):
            raise http_error(HTTPBadRequest, "Bad request: the multipart/form-data body has"
                             " no boundary in its Content-Type header.")
        ignore_invalid_dates(request)
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
