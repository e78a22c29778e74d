"""PEP 740 attestations: an upload's ``attestations`` field checked, its provenance made.

Checked, and refused with a 400 naming what is wrong: the field is a JSON array of at most
``MAX_ATTESTATIONS`` attestation objects, each one as pypi-attestations' ``Attestation``
model has it (its certificate DER X.509), whose statement is an in-toto v1 statement with
exactly one subject, naming the uploaded file and its sha256, and a predicate type PyPI
knows. Verified where that can be done offline, and recorded, never a reason to refuse: the
signature over the statement, by sigstore's verifier against the Sigstore trust root the
installed sigstore package ships (the certificate chains to its Fulcio CA, the signature
is the certificate's key's, the transparency log entry's inclusion proof and signed
timestamp hold). Not verified: who the signer is. No trusted-publisher policy holds the
certificate's identity to anything here; it is recorded and shown as it says itself.

The mirror checks upstream's provenance objects with ``check_provenance``: the same
statement checks, the bytes kept as upstream sent them.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from dataclasses import dataclass

from cryptography import x509
from pydantic import ValidationError
from pypi_attestations import Attestation, AttestationType, Distribution
from sigstore.models import TrustedRoot
from sigstore.verify import Verifier
from ZODB.blob import Blob

from shop.hosting.errors import UploadError
from shop.model.tree import ReleaseFile

FIELD = "attestations"
FIELD_LIMIT = 256 * 1024  # bytes of the field: one attestation is a few KiB
MAX_ATTESTATIONS = 16
PROVENANCE_LIMIT = 1024 * 1024  # bytes of a provenance object (the mirror's fetch)
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
ISSUER_CLAIM = "1.3.6.1.4.1.57264.1.8"  # Fulcio's OIDC issuer (v2) extension
# PEP 740's publisher is the trusted publisher the index verified the attestations against.
# There is none here: the kind says so, and claims nothing.
PUBLISHER = {"kind": "localshop-upload", "claims": None}


class AttestationRefused(UploadError):
    """A malformed attestation, or one that is not about the uploaded file (a 400)."""


@dataclass(frozen=True)
class Attested:
    """What an upload's attestations come to: the provenance object to serve, and what
    each attestation's certificate says of its signer (identity, issuer, verified)."""

    provenance: bytes
    signers: tuple[tuple[str | None, str | None, bool], ...]


def check_upload(field: str | None, filename: str, sha256: str) -> Attested | None:
    """The provenance of an upload's ``attestations`` field (None when none were sent), or
    AttestationRefused saying what is wrong."""
    if field is None or not field.strip():
        return None
    if len(field.encode("utf-8")) > FIELD_LIMIT:
        raise AttestationRefused(f"Field 'attestations' is too large: more than {FIELD_LIMIT} bytes.")
    try:
        raw = json.loads(field)
    except (ValueError, RecursionError):
        raise AttestationRefused("Field 'attestations' is not JSON: send a JSON array of "
                                 "attestation objects (PEP 740).") from None
    if not isinstance(raw, list):
        raise AttestationRefused("Field 'attestations' must be a JSON array of attestation objects.")
    if not raw:
        return None
    signers = check_attestations(raw, filename, sha256)
    provenance = {"version": 1, "attestation_bundles": [{"publisher": PUBLISHER, "attestations": raw}]}
    return Attested(json.dumps(provenance, separators=(",", ":")).encode("utf-8"), signers)


def keep(file: ReleaseFile, provenance: bytes, signers: tuple) -> None:
    """Store a checked provenance object with ``file``, and what it says of its signers."""
    file.provenance = Blob(provenance)
    file.provenance_sha256 = hashlib.sha256(provenance).hexdigest()
    file.provenance_size = len(provenance)
    file.signers = signers


def check_attestations(raw: list, filename: str, sha256: str) -> tuple[tuple, ...]:
    """Check each of ``raw`` (decoded JSON) is an attestation of ``filename`` with ``sha256``;
    what each says of its signer. AttestationRefused otherwise."""
    if len(raw) > MAX_ATTESTATIONS:
        raise AttestationRefused(f"Too many attestations: {len(raw)}, more than {MAX_ATTESTATIONS}.")
    try:
        dist = Distribution(name=filename, digest=sha256)
    except ValidationError:
        raise AttestationRefused(f"{filename!r} is not a distribution an attestation can name.") from None
    signers = []
    for number, one in enumerate(raw, 1):
        attestation, certificate = _parse(one, number)
        _check_statement(attestation, dist, number)
        signers.append(_signer(attestation, certificate))
    return tuple(signers)


def check_provenance(data: bytes, filename: str, sha256: str) -> tuple[tuple, ...]:
    """Check a provenance object (upstream's) is about ``filename`` with ``sha256``: every
    attestation of every bundle; what each says of its signer. AttestationRefused otherwise."""
    try:
        provenance = json.loads(data)
        bundles = provenance["attestation_bundles"]
        raw = [one for bundle in bundles for one in bundle["attestations"]]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise AttestationRefused("not a provenance object (PEP 740)") from None
    if provenance.get("version") != 1 or not raw:
        raise AttestationRefused("not a provenance object of version 1 with attestations")
    return check_attestations(raw, filename, sha256)


def _parse(one, number: int) -> tuple[Attestation, x509.Certificate]:
    """Attestation ``number`` as the library's model has it, and its X.509 certificate."""
    try:
        attestation = Attestation.model_validate(one)
        certificate = x509.load_der_x509_certificate(attestation.verification_material.certificate)
    except ValidationError as e:
        where = ".".join(str(part) for part in e.errors()[0]["loc"]) or "the object"
        raise AttestationRefused(f"Attestation {number} is malformed: {where}:"
                                 f" {e.errors()[0]['msg']}.") from None
    except ValueError:
        raise AttestationRefused(f"Attestation {number} is malformed: its certificate is not"
                                 " DER X.509.") from None
    return attestation, certificate


def _check_statement(attestation: Attestation, dist: Distribution, number: int) -> None:
    """The statement is in-toto's, about the one file ``dist``; AttestationRefused otherwise."""
    try:
        statement = attestation.statement
    except ValueError:
        raise AttestationRefused(f"Attestation {number}'s statement is not JSON.") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE \
            or not isinstance(statement.get("subject"), list):
        raise AttestationRefused(f"Attestation {number}'s statement is not an in-toto v1 statement.")
    subjects = statement["subject"]
    if len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise AttestationRefused(f"Attestation {number}'s statement must name exactly one subject.")
    name, digest = subjects[0].get("name"), subjects[0].get("digest")
    if name != dist.name:
        raise AttestationRefused(f"Attestation {number} is for {name!r}, not for the uploaded"
                                 f" {dist.name!r}.")
    found = digest.get("sha256") if isinstance(digest, dict) else None
    if found != dist.digest:
        raise AttestationRefused(f"Attestation {number} is for other bytes: its subject's sha256"
                                 f" is {found}, the uploaded file's {dist.digest}.")
    if statement.get("predicateType") not in {t.value for t in AttestationType}:
        raise AttestationRefused(f"Attestation {number} has an unknown predicate type"
                                 f" {statement.get('predicateType')!r}.")


def _signer(attestation: Attestation, certificate: x509.Certificate) -> tuple[str | None, str | None, bool]:
    """What the certificate says of the signer (identity, issuer), and whether the signature
    was verified."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        identity = next((str(n.value) for n in names), None)
    except (x509.ExtensionNotFound, ValueError):  # none, or one that cannot be parsed
        identity = None
    try:
        issuer = attestation.certificate_claims.get(ISSUER_CLAIM)
    except ValueError:  # a claim that is not a DER string
        issuer = None
    return identity, issuer, signature_verified(attestation)


def signature_verified(attestation: Attestation) -> bool:
    """Whether sigstore verifies the signature, offline, against its shipped trust root
    (any identity: there is no policy to hold it to)."""
    try:
        _verifier().verify_dsse(attestation.to_bundle(), _AnyIdentity())
    except Exception:  # noqa: BLE001 (untrusted input: whatever fails, it is not verified)
        return False
    return True


class _AnyIdentity:
    """A sigstore policy that takes every identity: it is recorded, not judged."""

    def verify(self, cert) -> None:
        pass


@functools.cache
def _verifier() -> Verifier:
    """sigstore's verifier over the trust root the installed sigstore ships (built once; it
    holds no state that changes). Never TUF's refresh: that reaches the network."""
    return Verifier(trusted_root=TrustedRoot.from_file(str(_trusted_root_path())))


def _trusted_root_path():
    """The production instance's ``trusted_root.json`` embedded in sigstore (its private
    store: read here only)."""
    store = importlib.resources.files("sigstore._store")
    return store / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"
