"""A person's own credentials: create (the secret is shown once), disable, enable, delete."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from pyramid.httpexceptions import HTTPFound

from shop.access import accounts
from shop.model.permissions import Permission
from shop.model.root import DEFAULT_REPOSITORY, Root
from shop.views.admin import READ, form_error, page, template, viewable_repositories

CREDENTIALS = template("credentials.pt")


def _values(request, **extra) -> dict:
    root = request.root
    values = {
        "credentials": accounts.credentials_of(root, request.authenticated_userid),
        "repositories": [r.__name__ for r in viewable_repositories(request)],
        "created": None,
        "error": None,
    }
    values.update(extra)
    return values


@page(context=Root, name="+credentials", renderer=CREDENTIALS, request_method=READ,
      permission=Permission.ACCOUNT)
def credentials(context: Root, request) -> dict:
    return _values(request)


def snippets(request, access_key: str, secret_key: str, repository: str) -> dict:
    """What to paste where: the index URL with and without the keys, pip.conf and .pypirc."""
    index_url = request.resource_url(request.root.repositories[repository])
    parts = urlsplit(index_url)
    with_keys = urlunsplit(parts._replace(netloc=f"{access_key}:{secret_key}@{parts.netloc}"))
    return {
        "index_url": index_url,
        "index_url_with_keys": with_keys,
        "pip_install": f"pip install --index-url {with_keys} PROJECT",
        "pip_conf": f"[global]\nindex-url = {with_keys}\n",
        "pypirc": (
            "[distutils]\nindex-servers =\n    local\n\n[local]\n"
            f"username: {access_key}\npassword: {secret_key}\nrepository: {index_url}\n"
        ),
    }


@page(context=Root, name="+credentials", renderer=CREDENTIALS, request_method="POST",
      request_param="action=create", permission=Permission.ACCOUNT)
def create(context: Root, request) -> dict:
    scope = request.POST.get("repository", "")
    repository = None if scope in ("", "*") else scope
    try:
        access_key, secret_key, credential = accounts.create_credential(
            context, request.authenticated_userid, repository=repository,
            upload=request.POST.get("mode") == "upload",
            description=request.POST.get("description", ""),
        )
    except accounts.AccountError as e:
        raise form_error(request, CREDENTIALS, _values(request), str(e)) from None
    if repository is None:
        shown = DEFAULT_REPOSITORY if DEFAULT_REPOSITORY in context.repositories else next(
            iter(context.repositories), None)
    else:
        shown = repository
    created = {
        "access_key": access_key,
        "secret_key": secret_key,
        "credential": credential,
        "snippets": snippets(request, access_key, secret_key, shown) if shown else None,
    }
    return _values(request, created=created)


def _change(request, message: str, change) -> HTTPFound:
    access_key = request.POST.get("access_key", "")
    try:
        change(request.root, access_key, owner=request.authenticated_userid)
    except accounts.AccountError as e:
        raise form_error(request, CREDENTIALS, _values(request), str(e)) from None
    request.session.flash(message.format(access_key))
    return HTTPFound(location=request.application_url + "/+credentials")


@page(context=Root, name="+credentials", request_method="POST", request_param="action=disable",
      permission=Permission.ACCOUNT)
def disable(context: Root, request):
    return _change(request, "Disabled {}: it stops working at once.",
                   lambda root, key, owner: accounts.set_credential_active(root, key, False, owner))


@page(context=Root, name="+credentials", request_method="POST", request_param="action=enable",
      permission=Permission.ACCOUNT)
def enable(context: Root, request):
    return _change(request, "Enabled {}.",
                   lambda root, key, owner: accounts.set_credential_active(root, key, True, owner))


@page(context=Root, name="+credentials", request_method="POST", request_param="action=delete",
      permission=Permission.ACCOUNT)
def delete(context: Root, request):
    return _change(request, "Deleted {}.", accounts.delete_credential)
