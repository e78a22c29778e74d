"""Repositories: the admin creates them; admins and repository owners configure them."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound

from shop.model import cooldown, repositories, webhooks
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.model.tree import Repository
from shop.views.admin import READ, flag, form_error, page, template
from shop.views.admin.browse import access_summary

REPOSITORIES = template("repositories.pt")
SETTINGS = template("settings.pt")


def _repositories(request) -> dict:
    return {"repositories": list(request.root.repositories.values()),
            "access": access_summary, "error": None}


@page(context=Root, name="+repositories", renderer=REPOSITORIES, request_method=READ,
      permission=Permission.ADMIN)
def repositories_page(context: Root, request) -> dict:
    return _repositories(request)


@page(context=Root, name="+repositories", request_method="POST", permission=Permission.ADMIN)
def add_repository(context: Root, request):
    post = request.POST
    name = post.get("name", "").strip()
    try:
        repository = repositories.add_repository(
            context, name, title=post.get("title", "").strip(), upstream=post.get("upstream", ""),
        )
    except repositories.RepositoryError as e:
        raise form_error(request, REPOSITORIES, _repositories(request), str(e)) from None
    request.session.flash(f"Created repository {name}: private until you allow readers below.")
    return HTTPFound(location=request.resource_url(repository, "+settings"))


def settings_values(request, repository: Repository) -> dict:
    """What the settings page shows."""
    return {
        "repository": repository,
        "roles": [(p.partition(":")[0], p.partition(":")[2], role) for p, role in repository.roles.items()],
        "role_names": ("reader", "uploader", "owner"),
        "mirror_modes": repositories.MIRROR_MODES,
        "merge_allowed": " ".join(repository.merge_allowed),
        "keep_dev_releases": repository.keep_dev_releases or "",
        "mirror_cache_size": repositories.format_size(repository.mirror_cache_size)
        if repository.mirror_cache_size else "",
        "min_age": cooldown.format_min_age(repository.min_age) if repository.min_age else "",
        "exclude_newer": cooldown.format_exclude_newer(repository.exclude_newer)
        if repository.exclude_newer is not None else "",
        "cooldown_exempt": " ".join(repository.cooldown_exempt),
        "hooks": webhooks.hooks_of(repository),
        "hook_history": webhooks.HISTORY,
        "iso": webhooks.iso,
        "created_hook": None,  # just added: its secret is shown this once
        "error": None,
    }


@page(context=Repository, name="+settings", renderer=SETTINGS, request_method=READ,
      permission=Permission.MANAGE)
def settings(context: Repository, request) -> dict:
    return settings_values(request, context)


def _settings_change(request, repository: Repository, change, message: str) -> HTTPFound:
    try:
        change()
    except repositories.RepositoryError as e:
        raise form_error(request, SETTINGS, settings_values(request, repository), str(e)) from None
    request.session.flash(message)
    return HTTPFound(location=request.resource_url(repository, "+settings"))


@page(context=Repository, name="+settings", request_method="POST", request_param="action=settings",
      permission=Permission.MANAGE)
def configure(context: Repository, request):
    post = request.POST
    return _settings_change(request, context, lambda: repositories.configure(
        context,
        title=post.get("title", ""),
        upstream=post.get("upstream", ""),
        mirror_mode=post.get("mirror_mode") or None,
        offline=flag(post, "offline"),
        anonymous_read=flag(post, "anonymous_read"),
        read_networks=post.get("read_networks", ""),
        merge_allowed=post.get("merge_allowed", "").replace(",", " ").split(),
        keep_dev_releases=post.get("keep_dev_releases", ""),
        mirror_cache_size=post.get("mirror_cache_size", ""),
        min_age=post.get("min_age", ""),
        exclude_newer=post.get("exclude_newer", ""),
        cooldown_exempt=post.get("cooldown_exempt", ""),
        upstream_deletions=post.get("upstream_deletions") or None,
        approve_new_projects=flag(post, "approve_new_projects"),
    ), "Saved the settings.")


@page(context=Repository, name="+settings", request_method="POST", request_param="action=role",
      permission=Permission.MANAGE)
def set_role(context: Repository, request):
    post = request.POST
    kind, name, role = post.get("kind", ""), post.get("name", "").strip(), post.get("role", "")
    return _settings_change(
        request, context,
        lambda: repositories.assign_role(request.root, context, kind, name, role or None),
        f"{kind.capitalize()} {name}: {role or 'none'}." if role and role != "none"
        else f"Removed the role of {kind} {name}.",
    )
