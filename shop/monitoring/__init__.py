"""Watching a running server: ``/+health`` (``health``: is the database there, are the
upstreams, is there room for blobs) and ``/+metrics`` (``metrics``: Prometheus's view of what
``shop.meters`` notes); both read the database through ``probe``, within a time limit."""
from __future__ import annotations

import logging
import os

from shop.monitoring.metrics import Metrics
from shop.monitoring.probe import Probe
from shop.version import __version__

log = logging.getLogger(__name__)


def includeme(config) -> None:
    """The process's metrics, listening to its meters (``request.shop.metrics``), and the
    probe both health checks and scrapes read the database with."""
    services = config.registry.shop
    services.probe = Probe(services.db)
    services.metrics = Metrics(services.probe, __version__)
    services.meters.listen(services.metrics.note)
    if services.changes is not None:
        services.metrics.watch_notices(services.changes)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client then keeps every value in files of that directory (slower),
        # while this registry still shows only this process's own.
        log.warning("PROMETHEUS_MULTIPROC_DIR is set, but localshop's metrics are per process"
                    " (labelled process=host:pid, see README 'Metrics'): unset it")
