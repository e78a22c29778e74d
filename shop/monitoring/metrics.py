"""The Prometheus metrics of ``/+metrics``: what ``shop.meters`` notes, counted per process,
and what the database holds, read at scrape time.

Every series made of this process's counts carries ``process="<host>:<pid>"``: with several
processes on one database (ZEO, RelStorage) each is scraped on its own and ``sum without
(process)`` adds them up; a process that restarts starts new series, never a counter that
goes back. The repositories' stored files and bytes are the database's, the same from every
process: they carry no process label.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from shop import meters
from shop.monitoring.probe import Probe
from shop.storage import StorageUnavailable

log = logging.getLogger(__name__)

# Seconds until an answer begins: a replayed page takes well under a millisecond, a
# mirrored project looked up upstream seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0, 30.0)


# name (without _total), help, labels besides ``process``
COUNTERS = (
    ("localshop_requests", "Requests answered, by kind and status.", ("kind", "status")),
    ("localshop_page_cache", "Simple pages asked of the page cache: hit (kept) or miss"
     " (rendered).", ("outcome",)),
    ("localshop_replay", "Anonymous page requests the replay could answer: hit (answered"
     " before Pyramid) or miss.", ("outcome",)),
    ("localshop_upstream_requests", "Requests to upstream: ok (answered) or error (no answer,"
     " or a 5xx).", ("outcome",)),
    ("localshop_upstream_received_bytes", "Bytes received from upstream (pages, files, core"
     " metadata).", ()),
    ("localshop_downloads", "Distribution files served, by origin (hosted, mirrored) and cache"
     " (hit: from the blob).", ("repository", "origin", "cache")),
    ("localshop_mirror_stores", "Mirrored files stored.", ("repository",)),
    ("localshop_mirror_stored_bytes", "Bytes of mirrored files stored.", ("repository",)),
    ("localshop_mirror_evictions", "Mirrored files evicted by retention.", ("repository",)),
    ("localshop_mirror_evicted_bytes", "Bytes of mirrored files evicted by retention.",
     ("repository",)),
    ("localshop_uploads", "Files published by uploads.", ("repository",)),
    ("localshop_uploaded_bytes", "Bytes of files published by uploads.", ("repository",)),
    ("localshop_refused_downloads", "Files (and their .metadata, .provenance) the supply-chain"
     " rules refused, by rule: blocked, quarantined, removed-upstream, cooldown,"
     " awaiting-approval.", ("repository", "rule")),
)


def process_label() -> str:
    """``<host>:<pid>``: which process of which machine counted."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Metrics:
    """One application's Prometheus registry and the listener that fills it from its notes."""

    def __init__(self, probe: Probe, version: str) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.process = process_label()
        self.counters = {name: Counter(name, doc, ("process", *labels), registry=registry)
                         for name, doc, labels in COUNTERS}
        self.latency = Histogram("localshop_request_duration_seconds", "Seconds until each"
                                 " request's answer began, by kind.", ("process", "kind"),
                                 buckets=LATENCY_BUCKETS, registry=registry)
        Gauge("localshop_info", "This process: its version.", ("process", "version"),
              registry=registry).labels(self.process, version).set(1)
        registry.register(RepositoryCollector(probe))
        self._notes = self._handlers()
        self._requests: dict[tuple[str, str], tuple] = {}  # (kind, status): their children

    def watch_notices(self, changes) -> None:
        """On PostgreSQL: whether this process hears of every commit (``shop.postgresql``)."""
        Gauge("localshop_commit_notices_listening", "1 while this process listens for"
              " PostgreSQL's notices of commits (its anonymous pages are replayed), else 0.",
              ("process",), registry=self.registry).labels(self.process).set_function(
                  lambda: 1 if changes.listening else 0)

    def _handlers(self) -> dict[str, Callable[[float, dict], None]]:
        """What each event of ``shop.meters`` does to the metrics."""
        process, counters = self.process, self.counters

        def by(name: str, *labels: str):
            # Each labelled child looked up once: labels() takes a lock and checks its values.
            counter, children = counters[name], {}

            def count(amount: float, found: dict) -> None:
                key = tuple([found[label] for label in labels])
                child = children.get(key)
                if child is None:
                    child = children[key] = counter.labels(process, *key)
                child.inc(amount)

            return count

        def twice(count: str, total: str):  # one more file, and its bytes
            files, size = by(count, "repository"), by(total, "repository")
            return lambda amount, found: (files(1.0, found), size(amount, found))

        return {
            meters.REQUEST: self._request,
            meters.PAGE_CACHE: by("localshop_page_cache", "outcome"),
            meters.REPLAY: by("localshop_replay", "outcome"),
            meters.UPSTREAM: by("localshop_upstream_requests", "outcome"),
            meters.UPSTREAM_BYTES: by("localshop_upstream_received_bytes"),
            meters.DOWNLOAD: by("localshop_downloads", "repository", "origin", "cache"),
            meters.MIRROR_STORE: twice("localshop_mirror_stores", "localshop_mirror_stored_bytes"),
            meters.MIRROR_EVICT: twice("localshop_mirror_evictions",
                                       "localshop_mirror_evicted_bytes"),
            meters.UPLOAD: twice("localshop_uploads", "localshop_uploaded_bytes"),
            meters.REFUSED: by("localshop_refused_downloads", "repository", "rule"),
        }

    def note(self, event: str, amount: float, labels: dict) -> None:
        """The listener (``Meters.listen``): count one note."""
        handler = self._notes.get(event)
        if handler is not None:
            handler(amount, labels)

    def _request(self, seconds: float, labels: dict) -> None:
        # Every request comes here: the labelled children are looked up once per kind and status.
        key = (labels["kind"], labels["status"])
        children = self._requests.get(key)
        if children is None:
            children = self._requests[key] = (
                self.counters["localshop_requests"].labels(self.process, *key),
                self.latency.labels(self.process, key[0]))
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics, and their content type: Prometheus's text format, or OpenMetrics when
        ``accept`` (the scraper's Accept header) asks for it, as prometheus_client chooses."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


class RepositoryCollector:
    """Stored files and bytes of each repository, read from the database at scrape time
    (the counters every repository keeps), and whether the database answered."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def describe(self) -> list:
        return []  # nothing read at registration: the database is read at scrape time

    def collect(self) -> Iterator[GaugeMetricFamily]:
        answers = GaugeMetricFamily("localshop_storage_answers", "1 when the database answered"
                                    " this scrape (within the probe's time limit), else 0.")
        try:
            found = self.probe.repositories()
        except StorageUnavailable as e:
            log.warning("metrics: no repository counts: %s", e)
            answers.add_metric([], 0)
            yield answers
            return
        answers.add_metric([], 1)
        yield answers
        files = GaugeMetricFamily("localshop_repository_files", "Files stored in each"
                                  " repository (hosted, and mirrored ones with their bytes).",
                                  labels=["repository"])
        size = GaugeMetricFamily("localshop_repository_bytes", "Bytes of the files stored in"
                                 " each repository.", labels=["repository"])
        for repository in found:
            files.add_metric([repository.name], repository.files)
            size.add_metric([repository.name], repository.bytes)
        yield files
        yield size
