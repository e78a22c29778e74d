"""The checks of PEP 740 attestations (shop.hosting.attestations), with the library's models."""
from __future__ import annotations

import base64
import json

import pytest

from shop.hosting import attestations
from shop.hosting.attestations import AttestationRefused, check_provenance, check_upload
from tests.attesting import make_attestation, real_attestation, real_dist
from tests.factories import make_wheel


def test_a_real_attestation_verifies_offline_against_the_shipped_trust_root():
    dist = real_dist()
    result = check_upload(json.dumps([real_attestation()]), dist.filename, dist.sha256)
    assert result.signers == (("jku@goto.fi", "https://github.com/login/oauth", True),)
    provenance = json.loads(result.provenance)
    assert provenance["attestation_bundles"][0]["attestations"] == [real_attestation()]


def test_a_real_attestation_with_a_changed_signature_is_kept_but_not_verified():
    dist = real_dist()
    tampered = real_attestation()
    signature = bytearray(base64.b64decode(tampered["envelope"]["signature"]))
    signature[-1] ^= 1
    tampered["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
    result = check_upload(json.dumps([tampered]), dist.filename, dist.sha256)
    assert result.signers == (("jku@goto.fi", "https://github.com/login/oauth", False),)


def test_a_self_signed_attestation_is_well_formed_but_not_verified():
    wheel = make_wheel("demo", "1.0")
    result = check_upload(json.dumps([make_attestation(wheel.filename, wheel.sha256)]),
                          wheel.filename, wheel.sha256)
    assert result.signers == (("tester@example.org", None, False),)


@pytest.mark.parametrize("field", [None, "", "  ", "[]"])
def test_no_attestations_make_no_provenance(field):
    assert check_upload(field, "demo-1.0-py3-none-any.whl", "0" * 64) is None


def test_the_real_attestation_does_not_pass_for_other_bytes():
    dist = real_dist()
    with pytest.raises(AttestationRefused, match="is for other bytes"):
        check_upload(json.dumps([real_attestation()]), dist.filename, "f" * 64)


def test_a_provenance_object_is_checked_attestation_by_attestation():
    wheel = make_wheel("demo", "1.0")
    good = make_attestation(wheel.filename, wheel.sha256)
    bad = make_attestation(wheel.filename, "a" * 64)
    provenance = {"version": 1, "attestation_bundles": [{"publisher": {"kind": "GitHub"},
                                                           "attestations": [good]}]}
    assert check_provenance(json.dumps(provenance).encode(), wheel.filename, wheel.sha256)
    provenance["attestation_bundles"].append({"publisher": {"kind": "x"}, "attestations": [bad]})
    with pytest.raises(AttestationRefused, match="Attestation 2 is for other bytes"):
        check_provenance(json.dumps(provenance).encode(), wheel.filename, wheel.sha256)


@pytest.mark.parametrize("data", [b"[]", b"{}", b"not json", b'{"version": 2, "attestation_bundles": []}',
                                  b'{"version": 1, "attestation_bundles": [{"attestations": []}]}'])
def test_what_is_not_a_provenance_object_is_refused(data):
    with pytest.raises(AttestationRefused):
        check_provenance(data, "demo-1.0-py3-none-any.whl", "0" * 64)


def test_the_verifier_is_built_from_the_shipped_trust_root_without_the_network():
    assert attestations._trusted_root_path().is_file()
