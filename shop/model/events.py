"""Changes made by somebody, said once where they are made: ``record(obj, KIND, ...)``.

The one place every change of the index announces itself (uploads in ``shop.hosting.publishing``,
yanks and deletes, owners, repository settings and roles in ``shop.model.repositories``, users
and credentials in ``shop.access.accounts``). The events of a transaction are collected on the
transaction itself and handed to the sinks (the audit log, the webhooks' queue) just before it
commits, in the same transaction: a change that is rolled back leaves no trace in them, and one
retried after a conflict is recorded once, by the attempt that committed.

Who made the change and from where (``Actor``) is said once per transaction by whoever began
it: the request (``shop.views``: the logged-in user and the client's address) or the command
line (``shop.scripts.cli``: the system user, address ``local``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from shop.model import audit, stats, webhooks
from shop.model.root import app_root

# What changed (``Event.kind``).
UPLOAD = "upload"
YANK = "yank"
UNYANK = "unyank"
DELETE = "delete"
PROJECT_STATUS = "project-status"
OWNERS = "owners"
REPOSITORY = "repository"  # created or its settings changed
ROLE = "role"
USER = "user"  # created, activated, deactivated, made admin or not, groups
PASSWORD = "password"
LOGOUT = "logout-everywhere"
CREDENTIAL_CREATED = "credential-created"
CREDENTIAL_DISABLED = "credential-disabled"
CREDENTIAL_ENABLED = "credential-enabled"
CREDENTIAL_DELETED = "credential-deleted"
LOGIN_FAILED = "login-failed"

KINDS = (UPLOAD, YANK, UNYANK, DELETE, PROJECT_STATUS, OWNERS, REPOSITORY, ROLE, USER, PASSWORD,
         LOGOUT, CREDENTIAL_CREATED, CREDENTIAL_DISABLED, CREDENTIAL_ENABLED, CREDENTIAL_DELETED,
         LOGIN_FAILED)
# The events a repository's webhooks are told of.
HOOKED = (UPLOAD, YANK, UNYANK, DELETE, PROJECT_STATUS)


@dataclass(frozen=True)
class Actor:
    user: str  # the user name; "anonymous"; or "<system user> (command line)"
    address: str  # the client's address (REMOTE_ADDR, after waitress's trusted_proxy); "local"
    via: str = ""  # the access key of the credential that authenticated the request, if one did


NOBODY = Actor("unknown", "")


@dataclass(frozen=True)
class Event:
    """One change: what, where, by whom, when (UTC seconds)."""

    kind: str
    actor: Actor
    time: float
    repository: str = ""
    project: str = ""  # the project's name as shown
    version: str = ""
    filename: str = ""
    detail: dict = field(default_factory=dict)  # short strings: what else a reader needs


_EVENTS = "shop.model.events"  # the key of a transaction's data: its list of events
_ACTOR = "shop.model.events.actor"  # ... and of who acts in it: a callable giving the Actor


def act(transaction_manager, actor: Actor | Callable[[], Actor]) -> None:
    """Say who acts in the current transaction of ``transaction_manager`` (a callable is asked
    when the first event is recorded: a request's identity is known only then)."""
    transaction_manager.get().set_data(_ACTOR, actor)


def act_on(obj, actor: Actor | Callable[[], Actor]) -> None:
    """``act`` for the transaction of a stored object's connection."""
    act(_jar_of(obj).transaction_manager, actor)


def record(obj, kind: str, *, repository: str = "", project: str = "", version: str = "",
           filename: str = "", **detail: str) -> Event:
    """Record a change made in the transaction of ``obj`` (an object of the tree: stored, or
    added in this transaction below one that is)."""
    jar = _jar_of(obj)
    txn = jar.transaction_manager.get()
    try:
        events = txn.data(_EVENTS)
    except KeyError:
        events = []
        txn.set_data(_EVENTS, events)
        txn.addBeforeCommitHook(_hand_over, (jar, events))
    event = Event(kind, _actor(txn), time.time(), repository, project, version, filename,
                  {k: str(v)[:500] for k, v in detail.items()})
    events.append(event)
    return event


def record_as(obj, actor: Actor, kind: str, **fields: str) -> Event:
    """``record`` by ``actor``, whoever else acts in the transaction: for what is recorded
    outside the request it happened in (a failed login, by the mirror's writer, after the
    request that failed is rolled back)."""
    txn = _jar_of(obj).transaction_manager.get()
    try:
        before = txn.data(_ACTOR)
    except KeyError:
        before = NOBODY
    txn.set_data(_ACTOR, actor)
    try:
        return record(obj, kind, **fields)
    finally:
        txn.set_data(_ACTOR, before)


def recorded(obj) -> list[Event]:
    """The events recorded so far in the transaction of ``obj``."""
    try:
        return list(_jar_of(obj).transaction_manager.get().data(_EVENTS))
    except KeyError:
        return []


def _jar_of(obj):
    """The connection of ``obj``, or of the nearest object above it that has one (an object
    added in this transaction has none until the commit)."""
    while obj._p_jar is None:
        obj = obj.__parent__
    return obj._p_jar


def _actor(txn) -> Actor:
    try:
        actor = txn.data(_ACTOR)
    except KeyError:
        return NOBODY
    return actor() if callable(actor) else actor


def _hand_over(jar, events: list[Event]) -> None:
    """Before the commit: the transaction's events to each sink, in the same transaction."""
    if not events:
        return
    root = app_root(jar)
    for sink in _sinks():
        sink(root, tuple(events))


def _sinks() -> tuple[Callable, ...]:
    """Each ``sink(root, events)``, written in the committing transaction: one line each."""
    return (
        audit.write,  # the audit log (shop.model.audit)
        partial(webhooks.enqueue, hooked=HOOKED),  # the webhooks' delivery queue
        partial(stats.note_uploads, kind=UPLOAD),  # the dashboard's latest uploads
    )
