"""Current core metadata through the real clients (issue 17): a wheel of Metadata-Version 2.4
with a License-Expression uploaded by twine, one of 2.5 with Import-Name by uv; each project
page then shows what the wheel says."""
from __future__ import annotations

import json

import pytest

from tests.conftest import basic_auth
from tests.e2e.clients import UV, run, twine_upload
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel, metadata_text

pytestmark = pytest.mark.e2e


def project_page(server: LocalshopServer, project: str) -> str:
    """The project page as the admin sees it, its white space folded."""
    status, _, body = server.request(f"/repo/default/{project}/+browse",
                                     headers=basic_auth("admin", server.admin_password))
    assert status == 200, body[:500]
    return " ".join(body.decode().split())


def pypi_info(server: LocalshopServer, project: str) -> dict:
    status, _, body = server.request(f"/pypi/{project}/json",
                                     headers=basic_auth("admin", server.admin_password))
    assert status == 200, body[:500]
    return json.loads(body)["info"]


def test_twine_uploads_a_2_4_wheel_and_its_page_shows_the_license(server, tmp_path, env):
    text = metadata_text("licensed", "1.0", metadata_version="2.4",
                         headers=("License-Expression: mit or apache-2.0", "License-File: LICENSE"))
    wheel = make_wheel("licensed", "1.0", metadata=text).write(tmp_path)
    twine_upload([wheel], "--repository-url", server.url + "/repo/default/", "-u", "admin",
                 "-p", server.admin_password, env=env)

    page = project_page(server, "licensed")
    assert "<dt>License</dt><dd>MIT OR Apache-2.0</dd>" in page
    assert "<dt>License files</dt><dd>LICENSE</dd>" in page
    info = pypi_info(server, "licensed")
    assert (info["license_expression"], info["license_files"]) == ("MIT OR Apache-2.0", ["LICENSE"])


def test_uv_publish_of_a_2_5_wheel_keeps_its_import_names(server, tmp_path, env):
    text = metadata_text("importable", "1.0", metadata_version="2.5",
                         headers=("License-Expression: MIT", "Import-Name: importable"))
    wheel = make_wheel("importable", "1.0", metadata=text).write(tmp_path)
    run([UV, "publish", "--no-config", "--trusted-publishing", "never",
         "--publish-url", server.url + "/repo/default/", "-u", "admin",
         "-p", server.admin_password, str(wheel)], env=env)

    page = project_page(server, "importable")
    assert "<dt>Import names</dt><dd>importable</dd>" in page
    assert "<dt>License</dt><dd>MIT</dd>" in page
