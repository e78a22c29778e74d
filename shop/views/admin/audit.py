"""The audit log's page (``/+audit``): admins read every change, filtered and paged."""
from __future__ import annotations

import datetime
from urllib.parse import urlencode

from shop.model import audit, events
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.views.admin import READ, page, template


def _cursor(request, name: str) -> int | None:
    """A page's cursor (an entry's key) from the query: None when absent or not a key."""
    value = request.params.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 20 else None


def _link(request, filters: dict[str, str], **cursor: int) -> str:
    query = {k: v for k, v in filters.items() if v}
    return request.application_url + "/+audit?" + urlencode({**query, **cursor})


@page(context=Root, name="+audit", renderer=template("audit.pt"), request_method=READ,
      permission=Permission.ADMIN)
def audit_page(context: Root, request) -> dict:
    filters = {f: request.params.get(f, "").strip()[:audit.MAX_FILTER] for f in audit.FILTERS}
    log = audit.log_of(context)
    found = audit.page(log, filters, before=_cursor(request, "before"),
                       after=_cursor(request, "after"))
    return {
        "filters": filters,
        "kinds": events.KINDS,
        "entries": [entry for _key, entry in found.entries],
        "total": len(log) if log is not None else 0,
        "searched_to": found.searched_to,
        "newer": _link(request, filters, after=found.newer) if found.newer is not None else None,
        "older": _link(request, filters, before=found.older) if found.older is not None else None,
        "utc": _utc,
    }


def _utc(seconds: float) -> str:
    """A moment in UTC, to the second."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
