"""Security headers on every response: pages cannot be framed, sniffed or made to run injected code."""
from __future__ import annotations

from pyramid.events import NewResponse, subscriber

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@subscriber(NewResponse)
def security_headers(event) -> None:
    """Headers that keep pages from being framed, sniffed or made to run injected code."""
    headers = event.response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if event.response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
