"""Things worth counting, said once where they happen: ``services.meters.note(EVENT, ...)``.

Listeners subscribe per application (``Meters.listen``): the Prometheus metrics of
``/+metrics`` and the dashboard's daily counts. Each place that counts names one of the events
below with its labels; what a listener makes of it is the listener's business. A note with no
listener costs a call and a loop over nothing; a listener that raises is logged and skipped,
never the request's failure.
"""
from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)

# event name            amount       labels
REQUEST = "request"  # seconds       kind: page|file|metadata|upload|admin|api|other, status: "200"...
PAGE_CACHE = "page_cache"  # 1       outcome: hit|miss
REPLAY = "replay"  # 1               outcome: hit|miss
UPSTREAM = "upstream"  # 1           outcome: ok|error  (one request to an upstream index)
UPSTREAM_BYTES = "upstream_bytes"  # bytes received from upstream
DOWNLOAD = "download"  # 1           repository, origin: hosted|mirrored, cache: hit|miss
MIRROR_STORE = "mirror_store"  # bytes  repository  (a mirrored file's verified bytes stored)
MIRROR_EVICT = "mirror_evict"  # bytes  repository  (retention evicted a mirrored file)
UPLOAD = "upload"  # bytes           repository  (a file published by an upload)
REFUSED = "refused"  # 1             repository, rule: blocked|quarantined|removed-upstream|
#                                    cooldown|awaiting-approval  (a file the rules refused)

# The environ key the request's kind (REQUEST's ``kind``) travels in, set where it is known:
# the views, and the replay for the pages it answers; unset, the kind is "other".
KIND = "shop.meters.kind"

Listener = Callable[[str, float, dict], None]


class Meters:
    """The listeners of one application's counts."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def note(self, event: str, amount: float = 1.0, **labels: str) -> None:
        for listener in self._listeners:
            try:
                listener(event, amount, labels)
            except Exception:  # counting never fails a request
                log.exception("meters listener %r failed on %s", listener, event)
