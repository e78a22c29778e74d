"""Setting a repository's supply-chain rules (``repository set R --min-age ...``): every
value checked before any is set (``shop.model.repositories.configure`` records the change)."""
from __future__ import annotations

from BTrees.OOBTree import OOBTree

from shop.model import cooldown, events
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
    wanted_on = checked.get("approve_new_projects")
    if wanted_on and repository.pending_projects is None:
        repository.pending_projects = OOBTree()  # what is stored now stays approved
    elif wanted_on is False and repository.approve_new_projects:
        _approve_pending(repository)
    for name, value in checked.items():
        setattr(repository, name, value)


def _approve_pending(repository: Repository) -> None:
    """Approvals turned off: every project waiting is served from now on, and so approved
    (recorded, each): turned on again, they stay approved, as all that is in use then."""
    pending = repository.pending_projects
    waiting = list(pending.items()) if pending is not None else []
    for name, request in waiting:
        del pending[name]
        events.record(repository, events.APPROVAL, repository=repository.__name__,
                      project=request.display, action="approved",
                      reason="approvals of new projects turned off", asked=str(request.times))
    if waiting and repository.pending_count is not None:
        repository.pending_count.change(-len(waiting))
    if waiting:
        repository.changed()  # the root page lists them
