"""Setting a repository's supply-chain rules (``repository set R --min-age ...``): every
value checked before any is set (``shop.model.repositories.configure`` records the change)."""
from __future__ import annotations

from BTrees.OOBTree import OOBTree

from shop.model import cooldown
from shop.model.tree import Repository

UPSTREAM_DELETIONS = ("follow", "keep")


class SettingError(ValueError):
    """A rule setting that cannot be set; the message says why."""


def configure_rules(repository: Repository, settings: dict) -> None:
    """The supply-chain settings (taken out of ``settings``), all checked before any is set:
    ``min_age`` (``7d``), ``exclude_newer`` (ISO 8601), ``cooldown_exempt`` ("NAME
    NAME==VERSION"), ``upstream_deletions`` (follow, keep), ``approve_new_projects``."""
    given = {name: settings.pop(name, None) for name in
             ("min_age", "exclude_newer", "cooldown_exempt", "upstream_deletions",
              "approve_new_projects")}
    wanted = {name: value for name, value in given.items() if value is not None}
    parsers = {"min_age": cooldown.parse_min_age, "exclude_newer": cooldown.parse_exclude_newer,
               "cooldown_exempt": cooldown.parse_exempt}
    checked = {}
    for name, value in wanted.items():
        try:
            checked[name] = parsers[name](value) if name in parsers else value
        except cooldown.CooldownError as e:
            raise SettingError(str(e)) from None
    if checked.get("upstream_deletions", "follow") not in UPSTREAM_DELETIONS:
        raise SettingError(f"Invalid upstream deletions {checked['upstream_deletions']!r}:"
                           " use follow (stop serving them) or keep.")
    if checked.get("approve_new_projects") and not repository.approve_new_projects:
        _approve_stored(repository)
    for name, value in checked.items():
        setattr(repository, name, value)


def _approve_stored(repository: Repository) -> None:
    """Approvals turned on: what is stored now (served until now) stays approved."""
    pending = repository.pending_projects
    if pending is None:
        repository.pending_projects = OOBTree()
        return
    served = [name for name in pending.keys() if name in repository]
    for name in served:
        del pending[name]
    if served and repository.pending_count is not None:
        repository.pending_count.change(-len(served))
    if served:
        repository.changed()  # the root page lists them
