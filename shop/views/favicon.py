"""``/favicon.ico``: the icon browsers ask the site's root for, to anybody, cached for a day."""
from __future__ import annotations

import hashlib
from importlib.resources import files

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from shop.model.root import Root
from shop.views import READ

# A 32x32 PNG in an ICO container (184 bytes): read once, served from memory.
ICON = (files("shop") / "static" / "favicon.ico").read_bytes()
ICON_ETAG = hashlib.sha256(ICON).hexdigest()
ONE_DAY = 24 * 3600


# The root's only children are repo, simple and pypi (Root.__getitem__), so the name
# "favicon.ico" is a view of the root, never a resource; no permission: the login page shows it.
@view_config(context=Root, name="favicon.ico", request_method=READ,
             permission=NO_PERMISSION_REQUIRED)
def favicon(context: Root, request) -> Response:
    response = Response(body=ICON, content_type="image/x-icon", conditional_response=True)
    response.etag = ICON_ETAG
    response.cache_control = f"public, max-age={ONE_DAY}"
    return response
