"""Provenance (PEP 740) of mirrored files: fetched once, with the file, checked, kept.

When a mirrored file's bytes have been verified, the provenance object upstream advertises
for it is fetched (within ``PROVENANCE_LIMIT`` bytes and the upstream timeouts) and kept
with the file only if every attestation in it names the file and its sha256; otherwise it
is dropped with a warning, and the file is served all the same. It is never fetched alone:
until the file is stored, this index advertises no provenance for it.
"""
from __future__ import annotations

import logging

from shop.hosting.attestations import PROVENANCE_LIMIT, AttestationRefused, check_provenance, keep
from shop.meters import UPSTREAM_BYTES
from shop.mirror.upstream import Upstream, UpstreamError
from shop.model.tree import ReleaseFile

log = logging.getLogger(__name__)


def fetch_provenance(upstream: Upstream, download, sha256: str) -> tuple[bytes, tuple] | None:
    """Upstream's provenance object of the file ``download`` (a ``Download``) just fetched
    and verified (``sha256``), and what its attestations say of their signers; None when
    upstream advertises none, or (a warning logged) it cannot be had or is not about this
    file."""
    url, filename = download.provenance_url, download.key.filename
    if url is None:
        return None
    try:
        with upstream.get(url, stream=True) as response:
            if response.status_code != 200:
                raise UpstreamError(f"upstream {url} answered {response.status_code} {response.reason}")
            data = response.raw.read(PROVENANCE_LIMIT + 1, decode_content=True)
    except UpstreamError as e:
        log.warning("mirror: no provenance kept for %s: %s", filename, e)
        return None
    except Exception as e:  # urllib3's errors: a broken connection, an undecodable body
        log.warning("mirror: no provenance kept for %s: upstream %s sent it broken (%s)",
                    filename, url, e.__class__.__name__)
        return None
    upstream.meters.note(UPSTREAM_BYTES, len(data))
    if len(data) > PROVENANCE_LIMIT:
        log.warning("mirror: no provenance kept for %s: upstream's is over %d bytes", filename,
                    PROVENANCE_LIMIT)
        return None
    try:
        return data, check_provenance(data, filename, sha256)
    except AttestationRefused as e:
        log.warning("mirror: upstream's provenance of %s dropped (%s): %s", filename, url, e)
        return None
    except Exception as e:  # noqa: BLE001 (upstream's bytes: what cannot be read is dropped)
        log.warning("mirror: upstream's provenance of %s dropped (%s): cannot be read (%s)",
                    filename, url, e.__class__.__name__)
        return None


def kept(file: ReleaseFile, fetched: tuple[bytes, tuple] | None) -> bool:
    """Keep what ``fetch_provenance`` fetched with ``file``, unless it has a provenance
    already (another process's copy); whether it was kept."""
    if fetched is None or file.provenance is not None:
        return False
    keep(file, *fetched)
    return True
