"""Repositories and releases: creating and configuring repositories, yanking and deleting."""
from __future__ import annotations

from dataclasses import dataclass


from shop.model import cooldown, events, names, offers, rulesettings, webhooks
from shop.model.permissions import Role, group_principal, user_principal
from shop.model.people import User
from shop.model.root import Root
from shop.model.tree import Package, Release, ReleaseFile, Repository

MIRROR_MODES = ("stream", "redirect")
UPSTREAM_DELETIONS = rulesettings.UPSTREAM_DELETIONS


class RepositoryError(ValueError):
    """A repository operation that cannot be done; the message says why."""


def get_repository(root: Root, name: str) -> Repository:
    repository = root.repositories.get(name)
    if repository is None:
        raise RepositoryError(f"No repository {name!r}.")
    return repository


def add_repository(root: Root, name: str, *, title: str = "", upstream: str | None = None) -> Repository:
    """A new repository: private (no anonymous reads, no networks) until configured."""
    if not names.is_valid_name(name) or name != name.lower():
        raise RepositoryError(
            f"Invalid repository name {name[:names.MAX_NAME_LENGTH]!r}: use lower-case letters, "
            f"digits, '.', '_' and '-', at most {names.MAX_NAME_LENGTH} characters."
        )
    if name in root.repositories:
        raise RepositoryError(f"Repository {name!r} already exists.")
    repository = root.repositories.add(name, Repository(title or name, upstream=_upstream(upstream)))
    events.record(root, events.REPOSITORY, repository=name, action="created",
                  upstream=names.credentials_hidden(repository.upstream or "none"))
    return repository


def _upstream(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value or value.lower() == "none":
        return None
    url = names.index_url(value)
    if url is None:
        raise RepositoryError(f"Invalid upstream {value!r}: give the http(s) URL of a simple index.")
    return url


# The settings ``configure`` changes, as the events recording a change name them.
SETTINGS = ("title", "upstream", "mirror_mode", "offline", "anonymous_read", "read_networks",
            "merge_allowed", "keep_dev_releases", "mirror_cache_size", "min_age",
            "exclude_newer", "cooldown_exempt", "upstream_deletions", "approve_new_projects")


def _settings_of(repository: Repository) -> dict[str, str]:
    values = {name: getattr(repository, name, None) for name in SETTINGS}
    values["read_networks"] = " ".join(str(n) for n in values["read_networks"] or ())
    values["merge_allowed"] = " ".join(sorted(values["merge_allowed"] or ()))
    values["min_age"] = cooldown.format_min_age(values["min_age"])
    values["exclude_newer"] = cooldown.format_exclude_newer(values["exclude_newer"])
    values["cooldown_exempt"] = " ".join(values["cooldown_exempt"])
    if values["upstream"]:  # the events say the URL, never its credentials
        values["upstream"] = names.credentials_hidden(values["upstream"])
    return {name: "none" if value is None else str(value) for name, value in values.items()}


def configure(repository: Repository, **settings) -> None:
    """Change a repository's settings (``SETTINGS``, as keywords; ``None``: unchanged); pages
    that depend on them are rendered anew. Retention limits are given as people write them
    (``5``; ``500M``; ``none``). What changed is recorded, with its new value."""
    before = _settings_of(repository)
    try:
        rulesettings.configure_rules(repository, settings)
    except rulesettings.SettingError as e:
        raise RepositoryError(str(e)) from None
    _configure(repository, **settings)
    after = _settings_of(repository)
    changed = {name: value for name, value in after.items() if before[name] != value}
    if changed:
        events.record(repository, events.REPOSITORY, repository=repository.__name__,
                      action="settings", **changed)


def _configure(repository: Repository, *, title: str | None = None, upstream: str | None = None,
               mirror_mode: str | None = None, offline: bool | None = None,
               anonymous_read: bool | None = None, read_networks: str | None = None,
               merge_allowed: list[str] | None = None, keep_dev_releases: str | None = None,
               mirror_cache_size: str | None = None) -> None:
    _set_retention(repository, keep_dev_releases, mirror_cache_size)
    if mirror_mode is not None and mirror_mode not in MIRROR_MODES:
        raise RepositoryError(f"Invalid mirror mode {mirror_mode!r}: use stream or redirect.")
    if read_networks is not None:
        try:
            networks = names.networks(read_networks)
        except names.InvalidName as e:
            raise RepositoryError(str(e)) from None
        repository.read_networks = networks
    if title is not None:
        repository.title = title.strip() or repository.__name__
    if upstream is not None:
        repository.upstream = _upstream(upstream)
    if mirror_mode is not None:
        repository.mirror_mode = mirror_mode
    if offline is not None:
        repository.offline = offline  # pages are cached per offline state: nothing to redo
    if anonymous_read is not None:
        repository.anonymous_read = anonymous_read
    if merge_allowed is not None:
        wanted = {names.normalize(n) for n in merge_allowed if n.strip()}
        changed = wanted.symmetric_difference(set(repository.merge_allowed))
        repository.merge_allowed.clear()
        repository.merge_allowed.update(wanted)
        for key in changed - wanted:  # hiding upstream's files again: count them again
            package = repository.get(key)
            if package is not None and package.hosted:
                offers.count_hidden_upstream(package)
        _pages_changed(repository, changed)


def _set_retention(repository: Repository, keep_dev_releases: str | None,
                   mirror_cache_size: str | None) -> None:
    """Both limits checked before either is set; ``0``, ``none`` or empty turn one off."""
    checked = {}
    if keep_dev_releases is not None:
        checked["keep_dev_releases"] = parse_count(keep_dev_releases, "keep dev releases")
    if mirror_cache_size is not None:
        checked["mirror_cache_size"] = parse_size(mirror_cache_size, "mirror cache size")
    for name, value in checked.items():
        setattr(repository, name, value)


SIZE_SUFFIXES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_count(value: str, what: str) -> int | None:
    """A limit that counts (``5``): None for ``0``, ``none`` or empty (no limit)."""
    text = str(value).strip().lower()
    if text in ("", "none", "0"):
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise RepositoryError(f"Invalid {what} {value!r}: give a whole number (0 or none: no limit).")
    return int(text)


def parse_size(value: str, what: str) -> int | None:
    """A size in bytes, ``K``, ``M``, ``G`` or ``T`` (powers of 1024) after the number
    allowed: None for ``0``, ``none`` or empty (no limit)."""
    text = str(value).strip().upper().removesuffix("B").replace(" ", "")
    if text in ("", "NONE", "0"):
        return None
    number, suffix = (text[:-1], text[-1]) if text[-1:] in SIZE_SUFFIXES else (text, "")
    if not (number.isascii() and number.isdigit()) or len(number) > 15:
        raise RepositoryError(
            f"Invalid {what} {value!r}: give bytes, or a whole number with K, M, G or T after "
            "it (500M, 20G); 0 or none: no limit."
        )
    return int(number) * SIZE_SUFFIXES[suffix] or None


def format_size(size: int | None) -> str:
    """A size as ``parse_size`` reads it back: ``500M``, ``1536K``, ``none``."""
    if not size:
        return "none"
    for suffix in ("T", "G", "M", "K"):
        if size % SIZE_SUFFIXES[suffix] == 0:
            return f"{size // SIZE_SUFFIXES[suffix]}{suffix}"
    return str(size)


def _pages_changed(repository: Repository, project_keys) -> None:
    for key in list(project_keys):
        package = repository.get(key)
        if package is not None:
            package.changed()


def set_role(repository: Repository, *, user: str | None = None, group: str | None = None,
             role: str | None) -> None:
    """Give a user or group a role in the repository (reader, uploader, owner), or none."""
    if (user is None) == (group is None):
        raise RepositoryError("Give a user or a group.")
    principal = user_principal(user) if user is not None else group_principal(group)
    if role in (None, "", "none"):
        if repository.roles.pop(principal, None) is not None:
            _role_changed(repository, user, group, "none")
        return
    try:
        value = Role(role).value
    except ValueError:
        raise RepositoryError(f"Invalid role {role!r}: use reader, uploader or owner.") from None
    if repository.roles.get(principal) != value:
        repository.roles[principal] = value
        _role_changed(repository, user, group, value)


def _role_changed(repository: Repository, user: str | None, group: str | None, role: str) -> None:
    who = {"user": user} if user is not None else {"group": group}
    events.record(repository, events.ROLE, repository=repository.__name__, role=role, **who)


def assign_role(root: Root, repository: Repository, kind: str, name: str, role: str | None) -> None:
    """``set_role`` for a user (who must exist) or a group, named as a form gives them."""
    name = name.strip()
    if kind == "user":
        if not isinstance(root.users.get(name), User):
            raise RepositoryError(f"No user {name!r}.")
        set_role(repository, user=name, role=role)
    elif kind == "group":
        if not names.is_valid_name(name):
            raise RepositoryError(f"Invalid group name {name!r}.")
        set_role(repository, group=name, role=role)
    else:
        raise RepositoryError("Give a user or a group.")


def add_webhook(repository: Repository, url: str, secret: str | None = None) -> webhooks.Hook:
    """A new hook of the repository (``shop.model.webhooks``): recorded, without its secret."""
    try:
        hook = webhooks.add_hook(repository, url, secret)
    except webhooks.WebhookError as e:
        raise RepositoryError(str(e)) from None
    events.record(repository, events.REPOSITORY, repository=repository.__name__,
                  action="webhook-added", hook=hook.__name__, url=names.origin_of(hook.url))
    return hook


def remove_webhook(root: Root, repository: Repository, hook_id: str) -> webhooks.Hook:
    """Remove a hook and its deliveries not yet made; recorded."""
    try:
        hook = webhooks.remove_hook(root, repository, hook_id.strip())
    except webhooks.WebhookError as e:
        raise RepositoryError(str(e)) from None
    events.record(root, events.REPOSITORY, repository=repository.__name__,
                  action="webhook-removed", hook=hook.__name__, url=names.origin_of(hook.url))
    return hook


@dataclass(frozen=True)
class Stats:
    projects: int
    files: int  # files whose bytes are stored (uploaded, or mirrored and downloaded)
    bytes: int


def stats(repository: Repository) -> Stats:
    """How many projects, stored files and bytes the repository holds (counted as they change)."""
    return Stats(len(repository), repository.stored_files(), repository.stored_bytes())


def search(repository: Repository, query: str = "", limit: int = 500) -> tuple[list[Package], bool]:
    """Projects whose name contains ``query`` (all when empty), by name; and whether cut at ``limit``."""
    # Keys are normalized names, and so is the query: a project is loaded only when listed.
    needle = names.normalize(query.strip()) if query.strip() else ""
    found = []
    for key in repository.keys():
        if needle in key:
            if len(found) == limit:
                return found, True
            found.append(repository[key])
    return found, False


def find_package(repository: Repository, project: str) -> Package:
    package: Package | None = repository.get(names.normalize(project))
    if package is None:
        raise RepositoryError(f"No project {project!r} in repository {repository.__name__}.")
    return package


def change_owners(root: Root, package: Package, *, add: tuple[str, ...] = (),
                  remove: tuple[str, ...] = ()) -> None:
    """Add or remove owners of a project: they upload its new versions, yank and delete."""
    if not package.hosted:
        raise RepositoryError(
            f"{package.name} is mirrored from upstream: it has no owners here. Whoever first "
            "uploads it owns it (and from then on upstream's files of it are hidden)."
        )
    for name in add:
        if name not in root.users:
            raise RepositoryError(f"No user {name!r}.")
    for name in remove:
        if name not in package.owners and name not in add:
            raise RepositoryError(f"{name} is not an owner of {package.name}.")
    before = set(package.owners)
    package.owners.update(add)
    for name in remove:
        if name in package.owners:
            package.owners.remove(name)
    added, removed = set(package.owners) - before, before - set(package.owners)
    if added or removed:
        events.record(root, events.OWNERS, repository=package.__parent__.__name__,
                      project=package.name, added=" ".join(sorted(added)),
                      removed=" ".join(sorted(removed)), owners=" ".join(sorted(package.owners)))


def find_release(repository: Repository, project: str, version: str) -> Release:
    package = find_package(repository, project)
    try:
        release = package.get(names.version_key(version))
    except names.InvalidName as e:
        raise RepositoryError(str(e)) from None
    if release is None:
        raise RepositoryError(f"No version {version} of {package.name}.")
    return release


def uploaded_files(target: Release | ReleaseFile) -> list[ReleaseFile]:
    """The uploaded files of a release (or the file itself, if uploaded): what yank and delete
    act on. Upstream's files follow upstream: the mirror's next refresh undoes a yank and lists
    a deleted file again, so neither applies to them."""
    files = list(target.values()) if isinstance(target, Release) else [target]
    return [f for f in files if f.origin != "mirror"]


def manageable(target: Release | ReleaseFile) -> bool:
    """Whether yanking or deleting ``target`` here means anything: it is, or holds, an upload."""
    return bool(uploaded_files(target))


def check_manageable(target: Release | ReleaseFile) -> None:
    """Raise RepositoryError, saying why, when ``target`` is not ``manageable``."""
    if manageable(target):
        return
    if isinstance(target, ReleaseFile):
        what = f"{target.filename} is upstream's file"
    else:
        what = f"{target.__parent__.name} {target.version} has only upstream's files"
    raise RepositoryError(
        f"{what}: it follows upstream, whose yanks the mirror copies, and a deleted upstream "
        "file is listed again at the mirror's next refresh. Yank or delete only uploaded files."
    )


def yank(target: Release | ReleaseFile, reason: str = "", yanked: bool = True) -> None:
    """Yank (PEP 592) a release's uploaded files or one uploaded file; ``yanked=False`` undoes
    it (``check_manageable``: the admin pages and the command line alike)."""
    check_manageable(target)
    files = uploaded_files(target)
    for file in files:
        file.set_yanked(yanked, reason.strip()[:500])
    _record(target, events.YANK if yanked else events.UNYANK, files,
            **({"reason": reason.strip()[:500]} if yanked else {}))


def delete(target: Release | ReleaseFile) -> None:
    """Remove an uploaded file, or a release's uploaded files; a release left without files
    goes too (``check_manageable``).

    The project stays, with its owners, so that a deleted hosted project never falls back
    to upstream's files of the same name.
    """
    check_manageable(target)
    release = target if isinstance(target, Release) else target.__parent__
    package = release.__parent__
    uploads = uploaded_files(target)
    _record(target, events.DELETE, uploads)
    if target is release and len(uploads) == len(release):
        package.remove(release.__name__)
        return
    for file in uploads:
        release.remove(file.__name__)
    if not len(release):
        package.remove(release.__name__)


def _record(target: Release | ReleaseFile, kind: str, files: list[ReleaseFile], **detail: str) -> None:
    """A yank, unyank or delete of a release's uploaded files (or of one file), recorded."""
    release = target if isinstance(target, Release) else target.__parent__
    package = release.__parent__
    events.record(package, kind, repository=package.__parent__.__name__, project=package.name,
                  version=release.version,
                  filename=target.filename if isinstance(target, ReleaseFile) else "",
                  files=" ".join(f.filename for f in files), **detail)
