"""PyPI's JSON API (``/pypi/<project>/json``) for tools that read it."""
from __future__ import annotations

from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.view import view_config

from shop.model import names
from shop.model.offers import PHRASES, Rules, latest_release, release_files
from shop.model.permissions import Permission
from shop.model.transient import IProject, VersionSpelling
from shop.model.tree import Package, Release, ReleaseFile
from shop.pages.simple import upload_time
from shop.views import READ, http_error
from shop.views.awaiting import refuse_awaiting
from shop.views.simple import current_package

INFO_FIELDS = (
    "author", "author_email", "classifiers", "description", "description_content_type",
    "download_url", "home_page", "keywords", "license", "license_expression", "license_files", "maintainer",
    "maintainer_email", "platform", "provides_extra", "requires_dist", "requires_python",
    "summary",
)


def _file(request, file: ReleaseFile) -> dict:
    return {
        "filename": file.filename,
        "url": request.resource_url(file.__parent__) + quote(file.filename),
        "digests": {"md5": file.md5, "sha256": file.sha256, "blake2b_256": file.blake2_256},
        "md5_digest": file.md5,
        "size": file.size,
        "upload_time": file.upload_time.strftime("%Y-%m-%dT%H:%M:%S") if file.upload_time else None,
        "upload_time_iso_8601": upload_time(file),
        "requires_python": file.requires_python,
        "yanked": file.yanked,
        "yanked_reason": file.yanked_reason or None,
        "packagetype": file.packagetype,
        "python_version": file.python_version,
        "has_sig": False,
        "comment_text": "",
    }


def project_json(request, package: Package, release: Release | None) -> dict:
    metadata = release.metadata if release is not None else {}
    rules = Rules(package)  # asked once for all its releases
    info = {field: metadata.get(field) for field in INFO_FIELDS}
    info.update(
        name=package.name,
        version=release.version if release is not None else None,
        project_urls=dict(names.project_urls(metadata.get("project_urls"))),
        package_url=request.resource_url(package),
        project_url=request.resource_url(package),
        release_url=request.resource_url(release) if release is not None else None,
        yanked=release.yanked if release is not None else False,
    )
    return {
        "info": info,
        "last_serial": 0,
        "releases": {
            r.version: [_file(request, f) for f in files]
            for r in reversed(package.releases()) if (files := release_files(r, rules))
        },
        "urls": [_file(request, f) for f in release_files(release, rules)]
        if release is not None else [],
        "vulnerabilities": [],
    }


@view_config(context=IProject, name="json", renderer="json", request_method=READ,
             permission=Permission.VIEW)
def package_json(context, request) -> dict:
    package = current_package(request, context)
    return project_json(request, package, latest_release(package))


@view_config(context=Release, name="json", renderer="json", request_method=READ,
             permission=Permission.VIEW)
def release_json(context: Release, request) -> dict:
    refuse_awaiting(request, context.__parent__)
    return project_json(request, context.__parent__, offered(context))


@view_config(context=VersionSpelling, name="json", renderer="json", request_method=READ,
             permission=Permission.VIEW)
def spelled_release_json(context: VersionSpelling, request) -> dict:
    """PyPI's JSON API answers for any spelling of a version."""
    refuse_awaiting(request, context.__parent__)
    return project_json(request, context.__parent__, offered(context.release))


def offered(release: Release) -> Release:
    """``release``, if a file of it is offered; else 404 (or 403, every file blocked) saying
    why: its metadata is not shown either."""
    if release_files(release):
        return release
    rules = Rules(release.__parent__)
    refusals = [rules.file_refusal(f) for f in release.files()]
    refusal = next((r for r in refusals if r is not None), None)
    if refusal is None:
        raise http_error(HTTPNotFound, f"Not found: no file of {release.__parent__.name} "
                                       f"{release.version} is offered here.")
    raise http_error(HTTPForbidden if refusal.status == 403 else HTTPNotFound,
                     f"{PHRASES[403 if refusal.status == 403 else 404]}: "
                     f"{release.__parent__.name} {release.version} is not offered here: "
                     f"{refusal.why}")
