"""PEP 740 with the real client: ``uv publish`` sends the attestation files beside a dist."""
from __future__ import annotations

import json

import pytest

from tests.conftest import basic_auth
from tests.attesting import make_attestation, real_attestation, real_dist
from tests.e2e.test_publishing_clients import uv_publish, write_dists
from tests.e2e.clients import UV, run, twine_upload
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e


def test_uv_publish_sends_the_attestation_beside_the_wheel_and_it_is_served(server, tmp_path, env):
    wheel = make_wheel("uv-attested", "1.0")
    (path,) = write_dists(tmp_path / "dist", wheel)
    attestation = make_attestation(wheel.filename, wheel.sha256)
    beside = path.with_name(wheel.filename + ".publish.attestation")
    beside.write_text(json.dumps(attestation))
    output = uv_publish(server, [path, beside], env=env)
    assert f"Uploading {wheel.filename}" in output, output

    (file,) = server.project_json("uv-attested")["files"]
    assert file["provenance"] == f"1/{wheel.filename}.provenance"
    status, headers, body = server.request(f"/repo/default/uv-attested/{file['provenance']}")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["attestation_bundles"][0]["attestations"] == [attestation]


def test_uv_publish_of_a_real_attested_sdist_is_stored_with_its_verified_provenance(server, tmp_path, env):
    sdist = real_dist()
    (path,) = write_dists(tmp_path / "dist", sdist)
    path.with_name(sdist.filename + ".publish.attestation").write_text(json.dumps(real_attestation()))
    uv_publish(server, [path, path.with_name(sdist.filename + ".publish.attestation")], env=env)
    (file,) = server.project_json("pypi-attestations")["files"]
    status, _, body = server.request(f"/repo/default/pypi-attestations/{file['provenance']}")
    assert status == 200 and json.loads(body)["attestation_bundles"][0]["attestations"] == [real_attestation()]
    status, _, page = server.request("/repo/default/pypi-attestations/+browse",
                                     headers=basic_auth("admin", server.admin_password))
    assert status == 200 and b"signature verified" in page


def test_uv_publish_of_an_attestation_for_other_bytes_is_refused(server, tmp_path, env):
    wheel, other = make_wheel("uv-misattested", "1.0"), make_wheel("uv-misattested", "1.0", requires_python=">=3")
    (path,) = write_dists(tmp_path / "dist", wheel)
    beside = path.with_name(wheel.filename + ".publish.attestation")
    beside.write_text(json.dumps(make_attestation(wheel.filename, other.sha256)))
    url = server.url + "/repo/default/"
    result = run([UV, "publish", "--no-config", "--trusted-publishing", "never", "--publish-url", url,
                  "-u", "admin", "-p", server.admin_password, path, beside], env=env, expect=None)
    assert result.returncode != 0
    assert "Attestation 1 is for other bytes" in result.output, result.output
    assert server.project_json("uv-misattested") is None


def test_twine_upload_attestations_sends_the_attestation_and_it_is_served(server, tmp_path, env):
    wheel = make_wheel("twine-attested", "1.0")
    (path,) = write_dists(tmp_path / "dist", wheel)
    attestation = make_attestation(wheel.filename, wheel.sha256)
    beside = path.with_name(wheel.filename + ".publish.attestation")
    beside.write_text(json.dumps(attestation))
    result = twine_upload([path, beside], "--attestations", "--repository-url",
                          server.url + "/repo/default/", "-u", "admin", "-p",
                          server.admin_password, env=env)
    assert "Only PyPI and TestPyPI support attestations" in result.output  # twine warns, sends
    (file,) = server.project_json("twine-attested")["files"]
    status, _, body = server.request(f"/repo/default/twine-attested/{file['provenance']}")
    assert status == 200 and json.loads(body)["attestation_bundles"][0]["attestations"] == [attestation]
