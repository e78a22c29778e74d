"""What stored objects of the tree say about supply-chain rules and provenance, as class
defaults (``shop.model.tree`` mixes them in): a database written before they existed loads,
and an object stores only what differs."""
from __future__ import annotations

import datetime

from ZODB.blob import Blob


class RepositoryRules:
    """A repository's supply-chain settings (``shop.model.offers.Rules`` reads them): the
    cooldown (a minimum age, a fixed date, the projects and versions exempt), whether files
    removed upstream are still served ("follow": no; "keep": yes), and whether new upstream
    projects wait for an admin's approval (``pending_projects``: name -> request)."""

    min_age: datetime.timedelta | None = None
    exclude_newer: datetime.datetime | None = None
    cooldown_exempt: tuple[str, ...] = ()
    upstream_deletions = "follow"
    approve_new_projects = False
    pending_projects = pending_count = None  # (and a Length counting them)


class FileProvenance:
    """A file's PEP 740 provenance: the object served at ``<file>.provenance`` (a blob, as
    the METADATA: pages load every file's record, which stays small), and what each
    attestation's certificate says of its signer: (identity, issuer, signature verified)."""

    provenance: Blob | None = None
    provenance_sha256: str | None = None
    provenance_size: int | None = None
    signers: tuple = ()
    upstream_provenance_url: str | None = None  # a mirrored file's, from upstream's listing
