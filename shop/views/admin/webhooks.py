"""A repository's webhooks on its settings page: added (the secret shown once) and removed by
whoever may change its settings."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound

from shop.model import repositories
from shop.model.permissions import Permission
from shop.model.tree import Repository
from shop.views.admin import form_error, page
from shop.views.admin.repositories import SETTINGS, settings_values


@page(context=Repository, name="+settings", renderer=SETTINGS, request_method="POST",
      request_param="action=hook-add", permission=Permission.MANAGE)
def add_hook(context: Repository, request) -> dict:
    try:
        hook = repositories.add_webhook(context, request.POST.get("url", ""))
    except repositories.RepositoryError as e:
        raise form_error(request, SETTINGS, settings_values(request, context), str(e)) from None
    return dict(settings_values(request, context), created_hook=hook)


@page(context=Repository, name="+settings", request_method="POST",
      request_param="action=hook-remove", permission=Permission.MANAGE)
def remove_hook(context: Repository, request):
    try:
        hook = repositories.remove_webhook(request.root, context, request.POST.get("hook", ""))
    except repositories.RepositoryError as e:
        raise form_error(request, SETTINGS, settings_values(request, context), str(e)) from None
    request.session.flash(f"Removed hook {hook.__name__} ({hook.url}).")
    return HTTPFound(location=request.resource_url(context, "+settings"))
