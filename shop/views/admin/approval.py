"""``/repo/<R>/+pending``: upstream projects awaiting approval, approved or denied by whoever
may change the repository's settings (``shop.model.approval``)."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound

from shop.model import approval
from shop.model.permissions import Permission
from shop.model.tree import Repository
from shop.views.admin import READ, form_error, page, template

PENDING = template("pending.pt")
SHOWN = 500  # requests on the page at most, the most recently asked first


def pending_values(repository: Repository) -> dict:
    """What the pending page shows."""
    return {"repository": repository, "pending": approval.pending(repository, SHOWN),
            "total": approval.pending_count(repository), "error": None}


@page(context=Repository, name="+pending", renderer=PENDING, request_method=READ,
      permission=Permission.MANAGE)
def pending_page(context: Repository, request) -> dict:
    return pending_values(context)


def _answer(request, repository: Repository, answer, message: str) -> HTTPFound:
    try:
        answer()
    except approval.ApprovalError as e:
        raise form_error(request, PENDING, pending_values(repository), str(e)) from None
    request.session.flash(message)
    return HTTPFound(location=request.resource_url(repository, "+pending"))


@page(context=Repository, name="+pending", request_method="POST", request_param="action=approve",
      permission=Permission.MANAGE)
def approve(context: Repository, request):
    project = request.POST.get("project", "")
    return _answer(request, context, lambda: approval.approve(context, project),
                   f"Approved {project}: served from now on.")


@page(context=Repository, name="+pending", request_method="POST", request_param="action=deny",
      permission=Permission.MANAGE)
def deny(context: Repository, request):
    post = request.POST
    project = post.get("project", "")
    return _answer(request, context, lambda: approval.deny(context, project, post.get("reason", "")),
                   f"Denied {project}: blocked in {context.__name__}.")
