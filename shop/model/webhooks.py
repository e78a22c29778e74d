"""Webhooks: a repository's hooks (URLs told of its changes), and the queue of their deliveries.

A hook is kept on its repository (``Repository.webhooks``, made with the first one). Events
(``shop.model.events``) reach ``enqueue`` just before their transaction commits, in it: one
``Delivery`` per (event, hook) is added to the queue on the root (``Root.webhooks``), its JSON
body fixed then. A transaction that does not commit leaves none, and one retried after a
conflict leaves those of the attempt that committed only. ``shop.operations.webhooks`` sends
them: a delivery is claimed in a committed transaction, posted, and its outcome recorded;
delivered (or given up) it leaves the queue, and the hook keeps the last ``HISTORY`` outcomes.

No HTTP here: the bodies, their signatures, the queue and its schedule.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from BTrees.Length import Length
from persistent import Persistent

from shop.model.folders import Folder, utcnow
from shop.model.root import Root
from shop.model.tree import Repository

MAX_HOOKS = 20  # per repository
MAX_URL_LENGTH = 2000
MAX_PENDING = 1000  # deliveries queued per hook; events past it are counted as dropped
HISTORY = 20  # outcomes kept per hook, newest first
FIRST_RETRY = 10.0  # seconds after the first failed attempt; doubled after each next one
MAX_RETRY = 3600.0  # the longest wait between two attempts
GIVE_UP = 3 * 86400.0  # a delivery still failing this long after its event is given up
CLAIM = 60.0  # seconds a claimed delivery is another process's to send (then claimable again)
SIGNATURE_HEADER = "X-Localshop-Signature"


class WebhookError(ValueError):
    """A hook that cannot be added or found; the message says why."""


@dataclass(frozen=True)
class Outcome:
    """One attempt at a delivery, as the hook's history shows it."""

    delivery: str
    event: str
    time: float  # UTC seconds
    status: int | None  # the receiver's HTTP status; None: no answer (the error says why)
    error: str  # "" when delivered
    attempts: int
    state: str  # "delivered", "retrying" or "failed" (given up)
    next_try: float | None = None  # when retrying

    def to_json(self) -> dict:
        return {"delivery": self.delivery, "event": self.event, "time": iso(self.time),
                "status": self.status, "error": self.error, "attempts": self.attempts,
                "state": self.state,
                "next_try": iso(self.next_try) if self.next_try is not None else None}


class Hook(Persistent):
    """A URL told of a repository's changes, with the secret its deliveries are signed with."""

    kinds: tuple[str, ...] | None = None  # the events it is told of; None: every hooked kind
    active = True

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.created = utcnow()
        # Lengths: enqueuing (in requests) and delivering (in the delivery thread) merge.
        self.pending = Length()  # deliveries in the queue
        self.dropped = Length()  # events not queued: MAX_PENDING were queued already
        self.history: tuple[Outcome, ...] = ()

    def note(self, outcome: Outcome) -> None:
        self.history = (outcome, *self.history)[:HISTORY]

    def wants(self, kind: str, hooked: tuple[str, ...]) -> bool:
        return self.active and kind in (self.kinds if self.kinds is not None else hooked)

    def state(self) -> dict:
        """What the settings page and ``hook list`` show (no secret)."""
        return {"id": self.__name__, "url": self.url, "created": iso(self.created.timestamp()),
                "active": self.active, "pending": self.pending(), "dropped": self.dropped(),
                "history": [o.to_json() for o in self.history]}


class Hooks(Folder):
    """A repository's hooks, by id."""


class Delivery(Persistent):
    """One event for one hook: its body as it will be sent, and how sending it went."""

    attempts = 0
    claimed_by = ""  # the process sending it now (until ``next_try``), if one is
    last_status: int | None = None
    last_error = ""

    def __init__(self, repository: str, hook: str, kind: str, body: bytes, now: float) -> None:
        self.repository = repository
        self.hook = hook
        self.kind = kind
        self.body = body
        self.created = now
        self.next_try = now


class Deliveries(Folder):
    """The queue: deliveries not yet delivered nor given up, by id (oldest first)."""


def iso(moment: float) -> str:
    """UTC seconds as ISO 8601, to the second: ``2026-12-01T19:28:25Z``."""
    when = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- hooks --------------------------------------------------------------------------------

def check_url(url: str) -> str:
    """``url`` if a hook may post to it: http(s), a host, no user or password, bounded."""
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookError(f"The URL is too long: at most {MAX_URL_LENGTH} characters.")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise WebhookError("The URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise WebhookError(f"Invalid URL {url[:100]!r}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookError(f"Invalid URL {url[:100]!r}: give an http:// or https:// URL"
                           " with a host name.")
    if "@" in parts.netloc:
        raise WebhookError("The URL may not carry a user name or password: the receiver"
                           " checks the signature instead.")
    return url


def check_secret(secret: str) -> str:
    if not 16 <= len(secret) <= 200 or not secret.isascii() or not secret.isprintable() \
            or " " in secret:
        raise WebhookError("A secret is 16 to 200 printable ASCII characters, without spaces.")
    return secret


def hooks_of(repository: Repository) -> list[Hook]:
    """The repository's hooks, oldest first."""
    found = repository.webhooks
    return sorted(found.values(), key=lambda h: h.created) if found is not None else []


def add_hook(repository: Repository, url: str, secret: str | None = None) -> Hook:
    """A new hook (told of every hooked kind of event); its secret made when not given."""
    url = check_url(url)
    secret = check_secret(secret) if secret is not None else secrets.token_urlsafe(32)
    if repository.webhooks is None:
        repository.webhooks = Hooks()
    if len(repository.webhooks) >= MAX_HOOKS:
        raise WebhookError(f"Repository {repository.__name__} has {MAX_HOOKS} hooks, the most"
                           " it may have: remove one first.")
    return repository.webhooks.add(secrets.token_hex(6), Hook(url, secret))


def get_hook(repository: Repository, hook_id: str) -> Hook:
    hook = repository.webhooks.get(hook_id) if repository.webhooks is not None else None
    if hook is None:
        raise WebhookError(f"No hook {hook_id!r} in repository {repository.__name__}.")
    return hook


def remove_hook(root: Root, repository: Repository, hook_id: str) -> Hook:
    """Remove a hook, and its deliveries not yet made."""
    get_hook(repository, hook_id)
    queue = queue_of(root)
    for delivery in [d for d in queue.values() if d.hook == hook_id
                     and d.repository == repository.__name__]:
        queue.remove(delivery.__name__)
    return repository.webhooks.remove(hook_id)


def hook_of(root: Root, delivery: Delivery) -> Hook | None:
    repository = root.repositories.get(delivery.repository)
    hooks = repository.webhooks if repository is not None else None
    return hooks.get(delivery.hook) if hooks is not None else None


# --- the queue ----------------------------------------------------------------------------

def queue_of(root: Root) -> Deliveries:
    """The delivery queue (made here for a database bootstrap has not brought up to date)."""
    if root.webhooks is None:
        root.webhooks = Deliveries()
    return root.webhooks


def enqueue(root: Root, events, *, hooked: tuple[str, ...]) -> None:
    """The events sink: a delivery for each event of a ``hooked`` kind and each hook of its
    repository that wants it, their ids in the order of the events."""
    now, made = time.time(), 0
    for event in events:
        repository = root.repositories.get(event.repository) if event.kind in hooked else None
        for hook in hooks_of(repository) if repository is not None else ():
            if not hook.wants(event.kind, hooked):
                continue
            if hook.pending() >= MAX_PENDING:
                hook.dropped.change(1)
                continue
            delivery_id = f"{int(now * 1e6):016d}-{made:04d}-{secrets.token_hex(4)}"
            delivery = Delivery(repository.__name__, hook.__name__, event.kind,
                                body_of(event, delivery_id, hook.__name__), now)
            queue_of(root).add(delivery_id, delivery)
            hook.pending.change(1)
            made += 1


def body_of(event, delivery_id: str, hook_id: str) -> bytes:
    """The JSON a receiver gets: what changed, where, by whom (the user name), when."""
    detail = dict(event.detail)
    body = {"event": event.kind, "delivery": delivery_id, "hook": hook_id,
            "time": iso(event.time), "repository": event.repository,
            "project": event.project, "version": event.version, "filename": event.filename,
            "actor": event.actor.user}
    if event.kind == "upload":
        body["files"] = [{"filename": event.filename, "sha256": detail.get("sha256", ""),
                          "size": int(detail.get("size") or 0),
                          "packagetype": detail.get("packagetype", "")}]
        body["sha256"], body["size"] = body["files"][0]["sha256"], body["files"][0]["size"]
    elif "files" in detail:
        body["files"] = [{"filename": name} for name in detail["files"].split()]
    if "reason" in detail:
        body["reason"] = detail["reason"]
    if "status" in detail:  # project-status (PEP 792)
        body["status"] = detail["status"]
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def due(queue: Deliveries, now: float, limit: int) -> list[Delivery]:
    """Deliveries to try now (not claimed by a process), oldest first, at most ``limit``."""
    found = []
    for delivery in queue.values():
        if delivery.next_try <= now:
            found.append(delivery)
            if len(found) == limit:
                break
    return found


def next_due(queue: Deliveries | None) -> float | None:
    """When the next delivery is due (claimed ones: when their claim ends)."""
    times = [d.next_try for d in queue.values()] if queue is not None else []
    return min(times) if times else None


def claim(delivery: Delivery, claimant: str, now: float) -> None:
    """``claimant``'s to send for ``CLAIM`` seconds: committed before it is sent, so that a
    process claiming it at the same time gets a ConflictError."""
    delivery.claimed_by = claimant
    delivery.next_try = now + CLAIM
    delivery.attempts += 1


def backoff(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 10, 20, 40 ... at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)


def delivered(root: Root, delivery: Delivery, status: int, now: float) -> None:
    """The receiver took it: out of the queue; the hook's other deliveries waiting to be tried
    again (it was down) are due now."""
    hook = _done(root, delivery)
    if hook is None:
        return
    hook.note(Outcome(delivery.__name__, delivery.kind, now, status, "", delivery.attempts,
                      "delivered"))
    if delivery.attempts > 1:
        for other in root.webhooks.values():
            if (other.hook, other.repository) == (delivery.hook, delivery.repository) \
                    and not other.claimed_by and other.next_try > now:
                other.next_try = now


def failed(root: Root, delivery: Delivery, status: int | None, error: str, now: float) -> None:
    """An attempt that did not deliver: tried again after ``backoff``, or given up (out of
    the queue) once ``GIVE_UP`` seconds have passed since the event."""
    error = error[:500]
    if now - delivery.created >= GIVE_UP:
        hook = _done(root, delivery)
        if hook is not None:
            hook.note(Outcome(delivery.__name__, delivery.kind, now, status, error,
                              delivery.attempts, "failed"))
        return
    delivery.claimed_by = ""
    delivery.next_try = now + backoff(delivery.attempts)
    delivery.last_status, delivery.last_error = status, error
    hook = hook_of(root, delivery)
    if hook is not None:
        hook.note(Outcome(delivery.__name__, delivery.kind, now, status, error,
                          delivery.attempts, "retrying", delivery.next_try))


def _done(root: Root, delivery: Delivery) -> Hook | None:
    """Take a delivery out of the queue; its hook (None if it was removed meanwhile)."""
    root.webhooks.remove(delivery.__name__)
    hook = hook_of(root, delivery)
    if hook is not None:
        hook.pending.change(-1)
    return hook
