"""Browser sessions a user has open: each login's random id, revocable on the server.

The signed cookie carries the session's id and the user keeps the ids of their live
sessions, so logging out, "log out everywhere", a password change and a deactivation end
sessions for good. Logging in and out writes to that one user; reading an identity writes
nothing.
"""
from __future__ import annotations

import datetime
import secrets

from BTrees.OOBTree import OOBTree

from shop.model.folders import utcnow
from shop.model.people import User

# A session ends this long after its login whatever the cookie says (the cookie itself
# times out after 12 idle hours); older ids are dropped at the user's next login.
MAX_AGE = datetime.timedelta(days=30)
MAX_SESSIONS = 100  # per user: the oldest go first when a login would pass this


def open_session(user: User) -> str:
    """Start a session for ``user``: its id, for the cookie."""
    # The login read the user active, with this password: a deactivation or password change
    # committed meanwhile must make this commit conflict (pyramid_retry then logs in again,
    # and is refused), not let a session in after it.
    if user._p_jar is not None:
        user._p_jar.readCurrent(user)
    now = utcnow()
    if user.sessions is None:
        user.sessions = OOBTree()
    live = user.sessions
    expired = [sid for sid, began in live.items() if now - began >= MAX_AGE]
    for sid in expired:
        del live[sid]
    if len(live) >= MAX_SESSIONS:
        for sid, _ in sorted(live.items(), key=lambda item: item[1])[:len(live) - MAX_SESSIONS + 1]:
            del live[sid]
    session_id = secrets.token_urlsafe(18)
    live[session_id] = now
    return session_id


def is_live(user: User, session_id: str | None) -> bool:
    """Whether the session ``session_id`` of ``user`` has not ended (a read, never a write)."""
    if user.sessions is None or not isinstance(session_id, str):
        return False
    began = user.sessions.get(session_id)
    return began is not None and utcnow() - began < MAX_AGE


def end_session(user: User, session_id: str | None) -> None:
    """End one session of ``user`` (logging out)."""
    if user.sessions is not None and isinstance(session_id, str) and session_id in user.sessions:
        del user.sessions[session_id]


def end_all_sessions(user: User) -> None:
    """End every session of ``user``: none that began before comes back."""
    # A new tree, not a cleared one: this writes the user itself, so a login racing with it
    # (which read the user current) conflicts even when no session was open.
    user.sessions = OOBTree()
