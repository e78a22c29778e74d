"""``localshop repository|project|release ...``: repositories, project owners and releases."""
from __future__ import annotations

import argparse

from shop.model import cooldown, repositories, status
from shop.model.offers import STATUSES
from shop.model.root import Root
from shop.model.tree import Repository
from shop.scripts import webhooks
from shop.scripts.common import CommandError, parse_bool
from shop.services import Services


# --- repositories -------------------------------------------------------------------------

def repository_add(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.add_repository(root, args.name, title=args.title or "", upstream=args.upstream)
    _configure(repository, args)
    return f"Added repository {args.name}"


def repository_set(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.name)
    if args.upstream is not None:
        repositories.configure(repository, upstream=args.upstream)
    if args.title is not None:
        repositories.configure(repository, title=args.title)
    _configure(repository, args)
    return f"Updated repository {args.name}"


def _configure(repository: Repository, args: argparse.Namespace) -> None:
    repositories.configure(
        repository,
        mirror_mode=args.mirror_mode,
        offline=args.offline,
        anonymous_read=args.anonymous_read,
        read_networks=args.read_networks,
        merge_allowed=args.merge_allowed.replace(",", " ").split() if args.merge_allowed is not None else None,
        keep_dev_releases=args.keep_dev_releases,
        mirror_cache_size=args.mirror_cache_size,
        min_age=args.min_age,
        exclude_newer=args.exclude_newer,
        cooldown_exempt=args.cooldown_exempt,
        upstream_deletions=args.upstream_deletions,
        approve_new_projects=args.approve_new_projects,
    )
    for spec in args.role or ():
        who, _, role = spec.partition("=")
        kind, _, name = who.partition(":")
        if kind not in ("user", "group") or not name:
            raise CommandError(f"--role {spec!r}: use user:NAME=ROLE or group:NAME=ROLE")
        repositories.set_role(repository, **{kind: name}, role=role)


def repository_list(root: Root, args: argparse.Namespace, services: Services) -> str:
    rows = []
    for name, r in root.repositories.items():
        access = "anonymous" if r.anonymous_read else ("networks " + " ".join(r.read_networks) if r.read_networks else "private")
        roles = " ".join(f"{p}={role}" for p, role in r.roles.items())
        merged = f"  merge: {' '.join(r.merge_allowed)}" if len(r.merge_allowed) else ""
        rows.append(
            f"{name}  projects {len(r)}  upstream {r.upstream or '-'} ({r.mirror_mode}"
            f"{', offline' if r.offline else ''}){merged}  read: {access}  {roles}"
            f"  keep-dev-releases {r.keep_dev_releases or 'none'}"
            f"  mirror-cache-size {repositories.format_size(r.mirror_cache_size)}"
            f"{_rules_of(r)}"
        )
    return "\n".join(rows)


def _rules_of(r: Repository) -> str:
    """The supply-chain settings that are not off, as ``repository list`` shows them."""
    shown = []
    if r.min_age:
        shown.append(f"min-age {cooldown.format_min_age(r.min_age)}")
    if r.exclude_newer is not None:
        shown.append(f"exclude-newer {cooldown.format_exclude_newer(r.exclude_newer)}")
    if r.cooldown_exempt:
        shown.append(f"cooldown-exempt {' '.join(r.cooldown_exempt)!r}")
    if r.upstream_deletions != "follow":
        shown.append(f"upstream-deletions {r.upstream_deletions}")
    if r.approve_new_projects:
        shown.append(f"approve-new-projects ({len(r.pending_projects or ())} pending)")
    return "".join("  " + s for s in shown)


# --- releases -----------------------------------------------------------------------------

def _release(root: Root, args: argparse.Namespace):
    repository = repositories.get_repository(root, args.repository)
    return repositories.find_release(repository, args.project, args.version)


def release_yank(root: Root, args: argparse.Namespace, services: Services) -> str:
    repositories.yank(_release(root, args), args.reason or "")
    return f"Yanked {args.project} {args.version}"


def release_unyank(root: Root, args: argparse.Namespace, services: Services) -> str:
    repositories.yank(_release(root, args), yanked=False)
    return f"Unyanked {args.project} {args.version}"


def release_delete(root: Root, args: argparse.Namespace, services: Services) -> str:
    repositories.delete(_release(root, args))
    return f"Deleted {args.project} {args.version}"


# --- projects -----------------------------------------------------------------------------

def project_owners(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    package = repositories.find_package(repository, args.project)
    repositories.change_owners(root, package, add=tuple(args.add or ()), remove=tuple(args.remove or ()))
    return f"Owners of {package.name}: {', '.join(package.owners) or 'none (repository owners only)'}"


def project_status(root: Root, args: argparse.Namespace, services: Services) -> str:
    repository = repositories.get_repository(root, args.repository)
    package = repositories.find_package(repository, args.project)
    try:
        changed = status.set_status(package, args.status, args.reason or "")
    except status.StatusError as e:
        raise CommandError(str(e)) from None
    reason = f" ({package.status_reason})" if package.status_reason else ""
    return f"{package.name} is {package.status}{reason}" + ("" if changed else " already")


# --- the parsers --------------------------------------------------------------------------

def add_repository_parser(commands) -> None:
    """``repository add|set|list|hook``."""
    repo = commands.add_parser("repository", help="repositories").add_subparsers(dest="action", required=True)
    for name, func in (("add", repository_add), ("set", repository_set)):
        sub = repo.add_parser(name, help=f"{name} a repository")
        sub.add_argument("name")
        sub.add_argument("--title")
        sub.add_argument("--upstream", metavar="URL", help="simple index to mirror, or none")
        sub.add_argument("--mirror-mode", choices=repositories.MIRROR_MODES)
        sub.add_argument("--offline", type=parse_bool, metavar="BOOL", help="serve only what is cached")
        sub.add_argument("--anonymous-read", type=parse_bool, metavar="BOOL")
        sub.add_argument("--read-networks", metavar="CIDRS", help="networks that read without credentials")
        sub.add_argument("--merge-allowed", metavar="P1,P2", help="hosted projects that also show upstream files")
        sub.add_argument("--role", action="append", metavar="user:NAME=ROLE",
                         help="reader, uploader, owner or none; repeatable; group:NAME=ROLE too")
        sub.add_argument("--keep-dev-releases", metavar="N",
                         help="keep the newest N pre-/dev-releases of each hosted project "
                              "(localshop cleanup deletes older ones); 0 or none: all")
        sub.add_argument("--mirror-cache-size", metavar="BYTES",
                         help="mirrored bytes kept (K, M, G, T: 500M); past it cleanup evicts the "
                              "least recently downloaded files; 0 or none: no limit")
        _add_rules_arguments(sub)
        sub.set_defaults(func=func)
    repo.add_parser("list", help="list repositories").set_defaults(func=repository_list,
                                                                   writes=False)
    webhooks.add_hook_parser(repo)


def _add_rules_arguments(sub) -> None:
    """The supply-chain settings of ``repository add|set``."""
    sub.add_argument("--min-age", metavar="DURATION",
                     help="cooldown: upstream files younger than this (7d, 36h) are not "
                          "offered; 0: off")
    sub.add_argument("--exclude-newer", metavar="DATETIME",
                     help="cooldown: upstream files uploaded after this ISO 8601 date or time "
                          "are not offered; none: off")
    sub.add_argument("--cooldown-exempt", metavar='"NAME NAME==VERSION"',
                     help="projects and versions the cooldown lets through, space-separated; "
                          '"" to clear')
    sub.add_argument("--upstream-deletions", choices=repositories.UPSTREAM_DELETIONS,
                     help="files removed upstream: follow (no longer served, the default) "
                          "or keep (still served)")
    sub.add_argument("--approve-new-projects", type=parse_bool, metavar="BOOL",
                     help="upstream projects not served before wait for an admin's approval")


def add_project_parser(commands):
    """``project owners|status``; returns the ``project`` actions, for the others to join."""
    project = commands.add_parser("project", help="projects").add_subparsers(dest="action", required=True)
    owners = project.add_parser("owners", help="show, add or remove a project's owners")
    owners.add_argument("repository")
    owners.add_argument("project")
    owners.add_argument("--add", action="append", metavar="USER", help="repeatable")
    owners.add_argument("--remove", action="append", metavar="USER", help="repeatable")
    owners.set_defaults(func=project_owners)
    marker = project.add_parser("status", help="set a hosted project's PEP 792 status")
    marker.add_argument("repository")
    marker.add_argument("project")
    marker.add_argument("status", choices=STATUSES,
                        help="archived: no more uploads; quarantined: no uploads and no files "
                             "offered; deprecated: as active, and said; active: the default")
    marker.add_argument("--reason", metavar="TEXT", help="shown to clients with the status")
    marker.set_defaults(func=project_status)
    return project


def add_release_parser(commands) -> None:
    """``release yank|unyank|delete``."""
    release = commands.add_parser("release", help="yank, unyank or delete a release")
    release = release.add_subparsers(dest="action", required=True)
    for name, func in (("yank", release_yank), ("unyank", release_unyank), ("delete", release_delete)):
        sub = release.add_parser(name, help=f"{name} a release")
        sub.add_argument("repository")
        sub.add_argument("project")
        sub.add_argument("version")
        if name == "yank":
            sub.add_argument("--reason", metavar="TEXT")
        sub.set_defaults(func=func)
