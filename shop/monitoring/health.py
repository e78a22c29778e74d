"""``/+health``: whether this process can serve, in JSON without secrets.

The database answers (within the probe's time limit), each repository's upstream answers or
has failed since when (what this process last heard: every process keeps its own), the blob
filesystem has room, and the version. Upstreams are named by origin only: no credentials,
no path.
"""
from __future__ import annotations

import datetime
import shutil

from shop.mirror.health import UpstreamHealth, UpstreamState
from shop.model.names import origin_of
from shop.monitoring.probe import Probe, RepositoryCounts
from shop.pages.simple import iso_time
from shop.storage import StorageUnavailable, temporary_directory


def health(probe: Probe, upstreams: UpstreamHealth, low_disk: int, version: str,
           process: str, *, detailed: bool = True, notices=None) -> tuple[dict, bool]:
    """The health report, and whether the database answered; ``detailed``: with each
    repository (for admins and watchers: a private repository's name is not for anyone).
    ``notices``: on PostgreSQL, the commit notices (``shop.postgresql.Changes``)."""
    try:
        repositories, error = probe.repositories(), None
    except StorageUnavailable as e:
        repositories, error = None, str(e)
    report = {
        "ok": error is None,
        "version": version,
        "process": process,
        "storage": {"ok": error is None, "error": error},
        "disk": disk(probe.db, low_disk),
        "repositories": None if repositories is None else {
            repository.name: mirrored(repository, upstreams) for repository in repositories},
        "upstreams": {
            "per_process": True,  # what this process last heard; each process has its own
            "origins": {origin: state_json(state)
                        for origin, state in sorted(upstreams.states().items())},
        },
    }
    if notices is not None:  # while not listening, pages are answered in full: slower
        report["storage"]["commit_notices"] = "listening" if notices.listening else "not listening"
    if not detailed:
        del report["repositories"]
    return report, error is None


def mirrored(repository: RepositoryCounts, upstreams: UpstreamHealth) -> dict:
    """A repository's upstream, by origin, and what this process last heard from it."""
    if repository.upstream is None:
        return {"upstream": None, "upstream_state": None}
    state = upstreams.state(repository.upstream)
    return {"upstream": origin_of(repository.upstream),
            "upstream_state": state_json(state) if state is not None else {"state": "unknown"}}


def state_json(state: UpstreamState) -> dict:
    return {
        "state": "ok" if state.ok else "failing",
        "since": _iso(state.since),
        "last_ok": _iso(state.last_ok),
        "last_error": state.last_error,
    }


def disk(db, low: int) -> dict:
    """Free room where the blobs are written, and whether it is below ``low`` bytes."""
    try:
        usage = shutil.disk_usage(temporary_directory(db))
    except OSError as e:
        return {"free_bytes": None, "total_bytes": None, "low": None, "low_below_bytes": low,
                "error": f"{e.__class__.__name__}: {e.strerror}"}
    return {"free_bytes": usage.free, "total_bytes": usage.total, "low": usage.free < low,
            "low_below_bytes": low}


def _iso(when: datetime.datetime | None) -> str | None:
    return iso_time(when) if when is not None else None
