"""Watching a running server: ``/+health`` (``health``: is the database there, are the
upstreams, is there room for blobs) and ``/+metrics`` (``metrics``: Prometheus's view of what
``shop.meters`` notes); both read the database through ``probe``, within a time limit."""
from __future__ import annotations

from shop.monitoring.metrics import Metrics
from shop.monitoring.probe import Probe
from shop.version import __version__


def includeme(config) -> None:
    """The process's metrics, listening to its meters (``request.shop.metrics``), and the
    probe both health checks and scrapes read the database with."""
    services = config.registry.shop
    services.probe = Probe(services.db)
    services.metrics = Metrics(services.probe, __version__)
    services.meters.listen(services.metrics.note)
