"""Changes made by somebody, said once where they are made: ``record(obj, KIND, ...)``.

The one place every change of the index announces itself (uploads in ``shop.hosting.publishing``,
yanks and deletes, owners, repository settings and roles in ``shop.model.repositories``, users
and credentials in ``shop.access.accounts``). The events of a transaction are collected on the
transaction itself. Just before it commits they are handed to the sinks that must never lose
one (the webhooks' queue: ``_sinks``) in the same transaction; once it has committed, to the
records (the audit log, the dashboard's latest uploads: ``_records``), written by the
process's writer in a transaction of its own (or, from the command line, in the same one). A
change that is rolled back leaves no trace in either, and one retried after a conflict is
recorded once, by the attempt that committed. What a crash between the commit and the
writer's (a few milliseconds) loses is that change's audit entry, never the change.

Who made the change and from where (``Actor``) is said once per transaction by whoever began
it: the request (``shop.views``: the logged-in user and the client's address) or the command
line (``shop.scripts.cli``: the system user, address ``local``).
"""
from __future__ import annotations

import getpass
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
BLOCK = "block"  # a block added or removed (``shop.model.blocks``)
APPROVAL = "approval"  # a new upstream project approved or denied

KINDS = (UPLOAD, YANK, UNYANK, DELETE, PROJECT_STATUS, OWNERS, REPOSITORY, ROLE, USER, PASSWORD,
         LOGOUT, CREDENTIAL_CREATED, CREDENTIAL_DISABLED, CREDENTIAL_ENABLED, CREDENTIAL_DELETED,
         LOGIN_FAILED, BLOCK, APPROVAL)
# The events a repository's webhooks are told of.
HOOKED = (UPLOAD, YANK, UNYANK, DELETE, PROJECT_STATUS)


@dataclass(frozen=True)
class Actor:
    user: str  # the user name; "anonymous"; or "<system user> (command line)"
    address: str  # the client's address (REMOTE_ADDR, after waitress's trusted_proxy); "local"
    via: str = ""  # the access key of the credential that authenticated the request, if one did


NOBODY = Actor("unknown", "")


def command_line() -> Actor:
    """Who changes things from the command line, as the audit log names them."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment nor the password database
        name = "unknown"
    return Actor(f"{name} (command line)", "local")


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
_LATER = "shop.model.events.later"  # ... and what writes its records once it has committed

Later = Callable[[Callable], object]  # later(apply): apply(root) in a transaction of its own


def act(transaction_manager, actor: Actor | Callable[[], Actor], later: Later | None = None) -> None:
    """Say who acts in the current transaction of ``transaction_manager`` (a callable is asked
    when the first event is recorded: a request's identity is known only then), and, with
    ``later``, who writes the records (``_records``) once it has committed: a request's
    transaction hands them to the process's writer; without, they are written in the
    transaction itself (the command line)."""
    txn = transaction_manager.get()
    txn.set_data(_ACTOR, actor)
    if later is not None:
        txn.set_data(_LATER, later)


def act_on(obj, actor: Actor | Callable[[], Actor]) -> None:
    """``act`` for the transaction of a stored object's connection."""
    act(_jar_of(obj).transaction_manager, actor)


def acting(obj) -> Actor | Callable[[], Actor]:
    """Who acts in the transaction of ``obj`` (as ``act`` said it), for a command that commits
    several transactions to say it again in each."""
    try:
        return _jar_of(obj).transaction_manager.get().data(_ACTOR)
    except KeyError:
        return NOBODY


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
        txn.addBeforeCommitHook(_hand_over, (txn, jar, events))
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


def _hand_over(txn, jar, events: list[Event]) -> None:
    """Before the commit: the transaction's events to each sink, in the same transaction; to
    each record, in it too or after it has committed (``act``'s ``later``)."""
    if not events:
        return
    root, done = app_root(jar), tuple(events)
    for sink in _sinks():
        sink(root, done)
    try:
        later = txn.data(_LATER)
    except KeyError:
        _write_records(root, done)
        return
    txn.addAfterCommitHook(_after_commit, (later, done))


def _after_commit(committed: bool, later: Later, done: tuple[Event, ...]) -> None:
    if committed:  # a transaction that failed to commit changed nothing: nothing to record
        later(partial(_write_records, events=done))


def _write_records(root, events: tuple[Event, ...]) -> None:
    for record_in in _records():
        record_in(root, events)


def _sinks() -> tuple[Callable, ...]:
    """Each ``sink(root, events)``, written in the committing transaction, so that it is never
    lost: one line each."""
    return (
        partial(webhooks.enqueue, hooked=HOOKED),  # the webhooks' delivery queue
    )


def _records() -> tuple[Callable, ...]:
    """Each ``record_in(root, events)``, written after the transaction committed (``act``'s
    ``later``): what every change adds to one shared, time-ordered tree, which concurrent
    requests would otherwise conflict on (a bucket split is no conflict BTrees resolve)."""
    return (
        audit.write,  # the audit log (shop.model.audit)
        partial(stats.note_uploads, kind=UPLOAD),  # the dashboard's latest uploads
    )
