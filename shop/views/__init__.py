"""Thin HTTP adapters: parse the request, call the domain, turn the result into a response."""
from __future__ import annotations

from urllib.parse import quote

from pyramid.httpexceptions import HTTPMovedPermanently

READ = ("GET", "HEAD")  # the methods of views that only read


def http_error(cls, message: str, *, body: str | None = None, content_type: str = "text/plain", **kw):
    """An HTTP error whose reason phrase and body (plain text, unless another is given) both
    say what was wrong."""
    body = message.rstrip() + "\n" if body is None else body
    exc = cls(body=body, content_type=content_type, charset="utf-8", **kw)
    exc.status = status_line(exc.code, message)
    exc.explained = True  # the error views pass it on as it is
    return exc


def status_line(code: int, message: str) -> str:
    """``code`` with ``message`` as its reason phrase: one line of latin-1, 400 characters at most."""
    reason = " ".join(message.split()).encode("latin-1", "replace").decode("latin-1")
    return f"{code} {reason[:400]}"


def traversed_url(request, *extra: str, up: int = 0) -> str:
    """The URL of the resource as the client addressed it (``/simple/`` or ``/repo/default/``),
    ``up`` levels above it, with ``extra`` segments."""
    traversed = request.traversed[: len(request.traversed) - up]
    segments = [quote(s, safe="") for s in (*traversed, *extra)]
    return request.application_url + "/" + "".join(s + "/" for s in segments)


def ensure_trailing_slash(request) -> None:
    """Raise a 301 to the same URL with a trailing slash (the simple API's canonical form)."""
    if not request.path.endswith("/"):
        location = request.path_url + "/"
        if request.query_string:
            location += "?" + request.query_string
        raise HTTPMovedPermanently(location=location)
