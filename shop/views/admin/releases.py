"""Yanking, unyanking and deleting a release or one file: a confirmation page, then a POST."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound

from shop.model import repositories, status
from shop.model.permissions import Permission
from shop.model.tree import Package, Release, ReleaseFile
from shop.views import http_error
from shop.views.admin import READ, page, template

CONFIRM = template("confirm.pt")

ACTIONS = {
    "+yank": ("Yank", "Installers skip a yanked version unless it is pinned exactly (PEP 592). "
                      "The files stay downloadable."),
    "+unyank": ("Unyank", "Installers will consider this version again."),
    "+delete": ("Delete", "The files are removed for good: pinned installs of this version will "
                          "fail, and the same filenames can be uploaded again."),
}


def _package(target: Release | ReleaseFile) -> Package:
    release = target if isinstance(target, Release) else target.__parent__
    return release.__parent__


def _manageable(target: Release | ReleaseFile) -> None:
    """Refuse (400, saying why) what the project page does not offer: upstream's files."""
    try:
        repositories.check_manageable(target)
    except repositories.RepositoryError as e:
        raise http_error(HTTPBadRequest, str(e)) from None


def _describe(target: Release | ReleaseFile) -> str:
    if isinstance(target, Release):
        return f"{target.__parent__.name} {target.version} ({len(target)} files)"
    return target.filename


@page(context=Release, name="+yank", renderer=CONFIRM, request_method=READ, permission=Permission.MANAGE)
@page(context=Release, name="+unyank", renderer=CONFIRM, request_method=READ, permission=Permission.MANAGE)
@page(context=Release, name="+delete", renderer=CONFIRM, request_method=READ, permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+yank", renderer=CONFIRM, request_method=READ, permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+unyank", renderer=CONFIRM, request_method=READ,
      permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+delete", renderer=CONFIRM, request_method=READ,
      permission=Permission.MANAGE)
def confirm(target, request) -> dict:
    _manageable(target)
    verb, explanation = ACTIONS[request.view_name]
    package = _package(target)
    return {
        "verb": verb,
        "explanation": explanation,
        "what": _describe(target),
        "is_release": isinstance(target, Release),
        "ask_reason": request.view_name == "+yank",
        "action_url": request.resource_url(target, request.view_name),
        "back_url": request.resource_url(package, "+browse"),
        "package": package,
    }


def _done(target, request, message: str) -> HTTPFound:
    request.session.flash(message)
    return HTTPFound(location=request.resource_url(_package(target), "+browse"))


@page(context=Release, name="+yank", request_method="POST", permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+yank", request_method="POST", permission=Permission.MANAGE)
def yank(context, request):
    _manageable(context)
    repositories.yank(context, request.POST.get("reason", ""))
    return _done(context, request, f"Yanked {_describe(context)}.")


@page(context=Release, name="+unyank", request_method="POST", permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+unyank", request_method="POST", permission=Permission.MANAGE)
def unyank(context, request):
    _manageable(context)
    repositories.yank(context, yanked=False)
    return _done(context, request, f"Unyanked {_describe(context)}.")


@page(context=Release, name="+delete", request_method="POST", permission=Permission.MANAGE)
@page(context=ReleaseFile, name="+delete", request_method="POST", permission=Permission.MANAGE)
def delete(context, request):
    _manageable(context)
    what = _describe(context)
    package = _package(context)
    repositories.delete(context)
    request.session.flash(f"Deleted {what}.")
    return HTTPFound(location=request.resource_url(package, "+browse"))


@page(context=Package, name="+owners", request_method="POST", permission=Permission.MANAGE)
def owners(context: Package, request):
    """Add or remove an owner of the project (the form on its page)."""
    user = request.POST.get("user", "").strip()
    adding = request.POST.get("action") == "add"
    try:
        repositories.change_owners(request.root, context, **{"add" if adding else "remove": (user,)})
    except repositories.RepositoryError as e:
        raise http_error(HTTPBadRequest, str(e)) from None
    request.session.flash(f"{'Added' if adding else 'Removed'} {user} as an owner of {context.name}.")
    return HTTPFound(location=request.resource_url(context, "+browse"))


@page(context=Package, name="+status", request_method="POST", permission=Permission.MANAGE)
def project_status(context: Package, request):
    """Set the project's PEP 792 status (the form on its page)."""
    try:
        status.set_status(context, request.POST.get("status", ""), request.POST.get("reason", ""))
    except status.StatusError as e:
        raise http_error(HTTPBadRequest, f"Bad request: {e}") from None
    reason = f" ({context.status_reason})" if context.status_reason else ""
    request.session.flash(f"{context.name} is {context.status}{reason}.")
    return HTTPFound(location=request.resource_url(context, "+browse"))
