"""PEP 740 on the upload side: attestations checked, stored with the file, served, advertised."""
from __future__ import annotations

import json

import pytest

from tests.attesting import make_attestation, real_attestation, real_dist, statement
from tests.factories import make_sdist, make_wheel
from tests.functional.conftest import (
    ADMIN,
    assert_refused,
    database_root,
    file_url,
    links,
    project_files,
    upload,
)


def attested(dist, *attestations) -> str:
    return json.dumps(list(attestations or [make_attestation(dist.filename, dist.sha256)]))


def provenance_of(app, project: str, filename: str, status: int = 200):
    file = project_files(app, project)[filename]
    return app.get(file_url(project, file) + ".provenance", status=status)


def test_an_upload_with_an_attestation_stores_it_and_serves_its_provenance(app):
    wheel = make_wheel("demo", "1.0")
    attestation = make_attestation(wheel.filename, wheel.sha256)
    r = upload(app, wheel, attestations=json.dumps([attestation]))
    assert r.status_int == 200, r.status
    file = project_files(app, "demo")[wheel.filename]
    assert file["provenance"] == f"1/{wheel.filename}.provenance"
    served = app.get(f"/simple/demo/1/{wheel.filename}.provenance")
    assert served.content_type == "application/json"
    assert served.json["version"] == 1
    (bundle,) = served.json["attestation_bundles"]
    assert bundle["publisher"] == {"kind": "localshop-upload", "claims": None}
    assert bundle["attestations"] == [attestation]  # as uploaded
    assert served.headers["ETag"].strip('"') and served.content_length == len(served.body)


def test_the_provenance_is_advertised_in_html_too(app):
    wheel = make_wheel("demo", "1.0")
    assert upload(app, wheel, attestations=attested(wheel)).status_int == 200
    page = app.get("/simple/demo/", headers={"Accept": "text/html"}).text
    assert links(page)[wheel.filename]["data-provenance"] == f"1/{wheel.filename}.provenance"
    assert '<meta name="pypi:repository-version" content="1.4">' in page


def test_a_file_without_attestations_advertises_no_provenance_and_has_none(app):
    wheel = make_wheel("demo", "1.0")
    assert upload(app, wheel).status_int == 200
    assert "provenance" not in project_files(app, "demo")[wheel.filename]
    assert "data-provenance" not in links(app.get("/simple/demo/").text)[wheel.filename]
    r = app.get(f"/simple/demo/1/{wheel.filename}.provenance", status=404)
    assert "has no provenance here (it was uploaded without attestations" in r.status


def test_a_real_attestation_is_verified_and_shown_on_the_project_page(app):
    sdist = real_dist()
    r = upload(app, sdist, attestations=json.dumps([real_attestation()]))
    assert r.status_int == 200, r.status
    with database_root(app) as root:
        file = root.repositories["default"]["pypi-attestations"]["0.0.19"][sdist.filename]
        assert file.signers == (("jku@goto.fi", "https://github.com/login/oauth", True),)
    page = " ".join(app.get("/repo/default/pypi-attestations/+browse", headers=ADMIN).text.split())
    assert "jku@goto.fi (https://github.com/login/oauth)" in page
    assert "signature verified" in page


def test_a_signature_that_cannot_be_verified_is_accepted_and_shown_so(app):
    wheel = make_wheel("demo", "1.0")
    assert upload(app, wheel, attestations=attested(wheel)).status_int == 200
    with database_root(app) as root:
        file = root.repositories["default"]["demo"]["1"][wheel.filename]
        assert file.signers == (("tester@example.org", None, False),)
    page = " ".join(app.get("/repo/default/demo/+browse", headers=ADMIN).text.split())
    assert "tester@example.org" in page and "signature not verified" in page


def test_an_attestation_for_other_bytes_is_refused_and_nothing_stored(app):
    wheel, other = make_wheel("demo", "1.0"), make_wheel("demo", "1.0", requires_python=">=3.9")
    r = upload(app, wheel, attestations=attested(wheel, make_attestation(wheel.filename, other.sha256)))
    assert_refused(app, r, 400, "Attestation 1 is for other bytes", wheel.sha256)


def test_an_attestation_for_another_file_is_refused(app):
    wheel, sdist = make_wheel("demo", "1.0"), make_sdist("demo", "1.0")
    r = upload(app, wheel, attestations=attested(wheel, make_attestation(sdist.filename, wheel.sha256)))
    assert_refused(app, r, 400, "is for 'demo-1.0.tar.gz', not for the uploaded")


@pytest.mark.parametrize("field, reason", [
    ("{not json", "Field 'attestations' is not JSON"),
    ('{"version": 1}', "must be a JSON array"),
    ('[{"version": 1}]', "Attestation 1 is malformed: verification_material"),
    ("[" + ",".join(["{}"] * 17) + "]", "Too many attestations: 17, more than 16"),
    (json.dumps(["x" * 300_000]), "Field 'attestations' is too large"),
])
def test_a_malformed_field_is_refused_with_what_is_wrong(app, field, reason):
    r = upload(app, make_wheel("demo", "1.0"), attestations=field)
    assert_refused(app, r, 400, reason)


def test_a_statement_of_two_subjects_is_refused(app):
    wheel = make_wheel("demo", "1.0")
    body = statement(wheel.filename, wheel.sha256)
    body["subject"] = body["subject"] * 2
    r = upload(app, wheel, attestations=attested(wheel, make_attestation("", "", body=body)))
    assert_refused(app, r, 400, "must name exactly one subject")


def test_a_statement_that_is_not_in_toto_is_refused(app):
    wheel = make_wheel("demo", "1.0")
    one = make_attestation("", "", body=statement(wheel.filename, wheel.sha256, _type="other"))
    r = upload(app, wheel, attestations=attested(wheel, one))
    assert_refused(app, r, 400, "is not an in-toto v1 statement")


def test_an_unknown_predicate_type_is_refused(app):
    wheel = make_wheel("demo", "1.0")
    one = make_attestation("", "", body=statement(wheel.filename, wheel.sha256, predicateType="x"))
    r = upload(app, wheel, attestations=attested(wheel, one))
    assert_refused(app, r, 400, "unknown predicate type 'x'")


def test_a_certificate_that_is_not_x509_is_refused(app):
    wheel = make_wheel("demo", "1.0")
    one = make_attestation(wheel.filename, wheel.sha256)
    one["verification_material"]["certificate"] = "bm90IGEgY2VydGlmaWNhdGU="
    r = upload(app, wheel, attestations=attested(wheel, one))
    assert_refused(app, r, 400, "its certificate is not DER X.509")
