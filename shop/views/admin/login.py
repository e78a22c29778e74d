"""Logging in and out of the browser admin."""
from __future__ import annotations

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPTooManyRequests
from pyramid.security import forget, remember

from shop.access import failures
from shop.access.login import LoginRefused, LoginThrottled, log_in
from shop.model.root import Root
from shop.views.admin import READ, form_error, local_path, page, template

LOGIN = template("login.pt")


@page(context=Root, name="+login", renderer=LOGIN, request_method=READ)
def login_form(context: Root, request) -> dict:
    return {"came_from": local_path(request.params.get("came_from")), "username": "", "error": None}


@page(context=Root, name="+login", renderer=LOGIN, request_method="POST")
def login(context: Root, request):
    username, password = request.POST.get("username", "").strip(), request.POST.get("password", "")
    came_from = local_path(request.POST.get("came_from"))
    try:
        log_in(context, username, password, request.shop.passwords, request.remote_addr)
    except LoginRefused as e:
        throttled = isinstance(e, LoginThrottled)
        failures.note(request.environ, username, request.remote_addr, failures.FORM,
                      throttled=throttled, secret=password)
        raise form_error(request, LOGIN, {"came_from": came_from, "username": username}, str(e),
                         HTTPTooManyRequests if throttled else HTTPBadRequest) from None
    headers = remember(request, username)
    # came_from is a path as the forbidden view saw it (with any script name).
    location = request.host_url + came_from if came_from != "/" else request.application_url + "/"
    return HTTPFound(location=location, headers=headers)


@page(context=Root, name="+logout", request_method="POST")
def logout(context: Root, request):
    headers = forget(request)
    return HTTPFound(location=request.application_url + "/", headers=headers)
