"""The block list's page (``/+blocks``): admins list, add and remove blocks, and import OSV
advisories, through the same functions as ``localshop block`` (``shop.model.blocking``)."""
from __future__ import annotations

from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPFound

from shop.model import blocking, osv
from shop.model.blocks import BlockError
from shop.model.permissions import Permission
from shop.model.root import Root
from shop.views.admin import READ, form_error, page, template

BLOCKS = template("blocks.pt")
CONFIRM = template("confirm.pt")
MAX_FILTER = 200


def _values(request) -> dict:
    project = request.params.get("project", "").strip()[:MAX_FILTER]
    return {"blocks": blocking.listed(request.root, project), "project": project,
            "repositories": sorted(request.root.repositories.keys()),
            "total": len(request.root.blocklist or ()), "remove_url": _remove_url,
            "form": {}}


def _remove_url(request, block) -> str:
    """The confirmation page of removing ``block``."""
    query = {"remove": block.spec, "repository": block.repository}
    return request.application_url + "/+blocks?" + urlencode(query)


def _back(request, message: str) -> HTTPFound:
    request.session.flash(message)
    return HTTPFound(location=request.application_url + "/+blocks")


@page(context=Root, name="+blocks", renderer=BLOCKS, request_method=READ,
      permission=Permission.ADMIN)
def blocks_page(context: Root, request) -> dict:
    return _values(request)


@page(context=Root, name="+blocks", renderer=CONFIRM, request_method=READ,
      request_param="remove", permission=Permission.ADMIN)
def confirm_remove(context: Root, request) -> dict:
    spec, repository = request.params["remove"][:1000], request.params.get("repository", "")
    where = f"repository {repository}" if repository else "every repository"
    query = urlencode({"action": "remove", "spec": spec, "repository": repository})
    return {"verb": "Remove", "what": f"the block of {spec} in {where}", "ask_reason": False,
            "explanation": "Pages list the files it blocks again, and their URLs serve them.",
            "action_url": request.application_url + "/+blocks?" + query,
            "back_url": request.application_url + "/+blocks"}


def _action(action: str):
    return page(context=Root, name="+blocks", request_method="POST",
                request_param=f"action={action}", permission=Permission.ADMIN)


@_action("add")
def add(context: Root, request):
    post = request.POST
    try:
        block, changed = blocking.add_block(context, post.get("spec", ""), post.get("reason", ""),
                                            post.get("repository", ""))
    except BlockError as e:
        raise form_error(request, BLOCKS, dict(_values(request), form=post), str(e)) from None
    where = f"repository {block.repository}" if block.repository else "every repository"
    return _back(request, f"{'Blocked' if changed else 'Already blocked:'} {block.spec} in {where}.")


@_action("remove")
def remove(context: Root, request):
    try:
        block = blocking.remove_block(context, request.params.get("spec", ""),
                                      request.params.get("repository", ""))
    except BlockError as e:
        raise form_error(request, BLOCKS, _values(request), str(e)) from None
    where = f"repository {block.repository}" if block.repository else "every repository"
    return _back(request, f"Removed the block of {block.spec} in {where}.")


@_action("import")
def import_osv(context: Root, request):
    upload = request.POST.get("osv")
    try:
        if not hasattr(upload, "file"):
            raise BlockError("Choose an OSV JSON file to import.")
        data = upload.file.read(osv.MAX_FILE_BYTES + 1)
        report = blocking.import_advisories(context, osv.read(data, upload.filename or "the file"))
    except BlockError as e:
        raise form_error(request, BLOCKS, _values(request), str(e)) from None
    skipped = "".join(f"; skipped {id}: {why}" for id, why in report.skipped[:20])
    return _back(request, f"Imported {upload.filename}: {report.summary()}{skipped}.")
