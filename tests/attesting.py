"""Test attestations (PEP 740), made with pypi-attestations' own models.

``make_attestation`` signs a statement about a file with a fresh key and a self-signed
certificate: well formed, about the file named, but not Sigstore's, so its signature never
verifies here. ``REAL`` is a real attestation of a real sdist (tests/data/attestations):
its signature does verify, offline.
"""
from __future__ import annotations

import base64
import datetime
import json
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pypi_attestations import Attestation, AttestationType, Envelope, VerificationMaterial

from tests.factories import Dist

DATA = pathlib.Path(__file__).parent / "data" / "attestations"
REAL_SDIST = DATA / "pypi_attestations-0.0.19.tar.gz"
REAL_ATTESTATION = DATA / "pypi_attestations-0.0.19.tar.gz.publish.attestation"
PAYLOAD_TYPE = b"application/vnd.in-toto+json"


def real_dist() -> Dist:
    return Dist(REAL_SDIST.name, REAL_SDIST.read_bytes(), "pypi-attestations", "0.0.19")


def real_attestation() -> dict:
    return json.loads(REAL_ATTESTATION.read_text())


def statement(filename: str, sha256: str, **overrides) -> dict:
    body = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": filename, "digest": {"sha256": sha256}}],
        "predicateType": AttestationType.PYPI_PUBLISH_V1.value,
        "predicate": None,
    }
    body.update(overrides)
    return body


def make_attestation(filename: str, sha256: str, *, email: str = "tester@example.org",
                     body: dict | bytes | None = None) -> dict:
    """An attestation (as JSON) of ``filename`` with ``sha256``, or of ``body`` instead."""
    key = ec.generate_private_key(ec.SECP256R1())
    payload = body if isinstance(body, bytes) else json.dumps(
        body if body is not None else statement(filename, sha256)).encode()
    pae = b"DSSEv1 %d %b %d %b" % (len(PAYLOAD_TYPE), PAYLOAD_TYPE, len(payload), payload)
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    attestation = Attestation(
        version=1,
        verification_material=VerificationMaterial(
            certificate=base64.b64encode(_certificate(key, email)),
            # A real entry's shape (another statement's: it does not verify for this one).
            transparency_entries=real_attestation()["verification_material"]["transparency_entries"],
        ),
        envelope=Envelope(statement=base64.b64encode(payload), signature=base64.b64encode(signature)),
    )
    return json.loads(attestation.model_dump_json())


def _certificate(key, email: str) -> bytes:
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test signer")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)
