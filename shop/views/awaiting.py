"""Projects awaiting approval (``shop.model.approval``): refused, and who asked noted."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound

from shop.meters import REFUSED
from shop.model.offers import awaiting_approval, refused_approval
from shop.model.tree import Package
from shop.views import http_error
from shop.views.actors import actor_of


def refuse_awaiting(request, package: Package, download: bool = False) -> None:
    """A 404 saying why, when ``package`` (stored, or upstream's answer: upstream knows it)
    awaits approval; who asked is noted for the admins (``shop.mirror.asking``), by the
    writer, as the request's own transaction is rolled back (and a ``download`` counted)."""
    if not awaiting_approval(package):
        return
    actor = actor_of(request)
    request.shop.asking.note(package.__parent__.__name__, package.__name__, package.name,
                             actor.user, actor.address)
    if download:  # a file (or its metadata) refused: counted as the rules' other refusals
        request.shop.meters.note(REFUSED, repository=package.__parent__.__name__,
                                 rule="awaiting-approval")
    raise http_error(HTTPNotFound, refused_approval(package))
