"""Who acts in a request's transaction, for the events it records (``shop.model.events``):
the identity the security policy found (or ``anonymous``) and the client's address; and the
request's failed logins, recorded after it in a transaction of their own."""
from __future__ import annotations

import functools
import logging

from pyramid.events import NewRequest, subscriber

from shop.access import failures
from shop.model import events

log = logging.getLogger(__name__)

FAILED_LOGINS = ("audit", events.LOGIN_FAILED)  # the writer's key of their jobs (wait_for)
RECORDS = ("audit", "changes")  # ... and of the records of committed changes


@subscriber(NewRequest)
def say_who_acts(event: NewRequest) -> None:
    """Each attempt of a request (pyramid_retry) begins a transaction of its own: this runs in
    each, inside pyramid_tm's tween. The identity is asked only when an event is recorded."""
    request = event.request
    events.act(request.tm, lambda: actor_of(request),
               later=functools.partial(_write_later, request.shop.writer))
    request.add_finished_callback(record_failed_logins)


def actor_of(request) -> events.Actor:
    identity = request.identity
    if identity is None:
        return events.Actor("anonymous", request.remote_addr or "")
    return events.Actor(identity.userid, request.remote_addr or "", identity.access_key or "")


def record_failed_logins(request) -> None:
    """After the request (its transaction is over, most likely rolled back): the failed logins
    it noted that ``FailedLogins`` admits, to the process's writer, which records them."""
    noted = request.environ.pop(failures.NOTED, None)
    if not noted:
        return
    services = request.shop
    for failure in noted:
        detail = services.failed_logins.admit(failure)
        if detail is not None:
            actor = events.Actor(failure.user, failure.address, failure.via)
            future = services.writer.submit(functools.partial(_record, actor, detail),
                                            key=FAILED_LOGINS)
            future.add_done_callback(_said_if_lost)


def _write_later(writer, apply) -> None:
    """The records of a request's committed changes (the audit log), written by the writer."""
    writer.submit(apply, key=RECORDS).add_done_callback(_said_if_lost)


def _said_if_lost(future) -> None:
    """A record the writer could not write (the database stayed busy, or failed) is logged:
    the change is committed, its audit entry is not."""
    error = future.exception()
    if error is not None:
        log.error("audit log: a record of committed changes was lost: %s", error)


def _record(actor: events.Actor, detail: dict[str, str], root) -> None:
    events.record_as(root, actor, events.LOGIN_FAILED, **detail)
