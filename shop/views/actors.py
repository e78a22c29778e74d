"""Who acts in a request's transaction, for the events it records (``shop.model.events``):
the identity the security policy found (or ``anonymous``) and the client's address."""
from __future__ import annotations

from pyramid.events import NewRequest, subscriber

from shop.model import events


@subscriber(NewRequest)
def say_who_acts(event: NewRequest) -> None:
    """Each attempt of a request (pyramid_retry) begins a transaction of its own: this runs in
    each, inside pyramid_tm's tween. The identity is asked only when an event is recorded."""
    request = event.request
    events.act(request.tm, lambda: actor_of(request))


def actor_of(request) -> events.Actor:
    identity = request.identity
    if identity is None:
        return events.Actor("anonymous", request.remote_addr or "")
    return events.Actor(identity.userid, request.remote_addr or "", identity.access_key or "")
