"""Accounts: the admin's users page, and everybody's own account page."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPTooManyRequests
from pyramid.security import forget, remember

from shop.access import accounts, failures
from shop.access.login import LoginThrottled
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.views.admin import READ, flag, form_error, page, template

USERS = template("users.pt")
ACCOUNT = template("account.pt")


def _users(request) -> dict:
    return {"users": list(request.root.users.items()), "error": None}


@page(context=Root, name="+users", renderer=USERS, request_method=READ, permission=Permission.ADMIN)
def users(context: Root, request) -> dict:
    return _users(request)


def _user_change(request, change, message: str) -> HTTPFound:
    """Apply ``change(root, name, POST)``; the page again with the error if it cannot be done."""
    name = request.POST.get("user", "").strip()
    try:
        change(request.root, name, request.POST)
    except accounts.AccountError as e:
        raise form_error(request, USERS, _users(request), str(e)) from None
    request.session.flash(message.format(name))
    return HTTPFound(location=request.application_url + "/+users")


def _user_action(action: str):
    return page(context=Root, name="+users", request_method="POST", request_param=f"action={action}",
                permission=Permission.ADMIN)


@_user_action("add")
def add(context: Root, request):
    return _user_change(request, lambda root, name, post: accounts.add_user(
        root, name, post.get("password", ""), passwords=request.shop.passwords,
        admin=flag(post, "admin")), "Added user {}.")


@_user_action("password")
def reset_password(context: Root, request):
    return _user_change(request, lambda root, name, post: accounts.set_password(
        root, name, post.get("password", ""), passwords=request.shop.passwords),
        "Set a new password for {}.")


@_user_action("active")
def set_active(context: Root, request):
    active = flag(request.POST, "active")
    return _user_change(request, lambda root, name, post: accounts.set_user_flags(
        root, name, active=active), "Activated {}." if active else "Deactivated {}.")


@_user_action("admin")
def set_admin(context: Root, request):
    admin = flag(request.POST, "admin")
    return _user_change(request, lambda root, name, post: accounts.set_user_flags(
        root, name, admin=admin), "{} is an admin now." if admin else "{} is no longer an admin.")


@_user_action("groups")
def set_groups(context: Root, request):
    groups = tuple(request.POST.get("groups", "").replace(",", " ").split())
    return _user_change(request, lambda root, name, post: accounts.set_user_flags(
        root, name, groups=groups), "Set the groups of {}.")


@_user_action("sessions")
def end_sessions(context: Root, request):
    return _user_change(request, lambda root, name, post: accounts.log_out_everywhere(root, name),
                        "Logged {} out everywhere.")


# --- one's own account ----------------------------------------------------------------------

def _account(request) -> dict:
    return {"user": request.root.users.get(request.authenticated_userid), "error": None}


@page(context=Root, name="+account", renderer=ACCOUNT, request_method=READ,
      permission=Permission.ACCOUNT)
def account(context: Root, request) -> dict:
    return _account(request)


@page(context=Root, name="+account", request_method="POST", permission=Permission.ACCOUNT)
def change_password(context: Root, request):
    post = request.POST
    try:
        if post.get("new_password", "") != post.get("repeat_password", ""):
            raise accounts.AccountError("The new passwords do not match.")
        accounts.change_password(
            context, request.authenticated_userid, post.get("current_password", ""),
            post.get("new_password", ""), passwords=request.shop.passwords,
            address=request.remote_addr,
        )
    except (LoginThrottled, accounts.WrongPassword) as e:
        throttled = isinstance(e, LoginThrottled)
        failures.note(request.environ, request.authenticated_userid, request.remote_addr,
                      failures.ACCOUNT, throttled=throttled, secret=post.get("current_password", ""))
        raise form_error(request, ACCOUNT, _account(request), str(e),
                         HTTPTooManyRequests if throttled else HTTPBadRequest) from None
    except accounts.AccountError as e:
        raise form_error(request, ACCOUNT, _account(request), str(e)) from None
    # Sessions of the old password end; this one goes on, logged in with the new password.
    remember(request, request.authenticated_userid)
    request.session.flash("Your password is changed; other sessions are logged out.")
    return HTTPFound(location=request.application_url + "/+account")


@page(context=Root, name="+account", request_method="POST", request_param="action=sessions",
      permission=Permission.ACCOUNT)
def log_out_everywhere(context: Root, request):
    accounts.log_out_everywhere(context, request.authenticated_userid)
    headers = forget(request)
    request.session.flash("You are logged out everywhere, in this browser too.")
    return HTTPFound(location=request.application_url + "/+login", headers=headers)
