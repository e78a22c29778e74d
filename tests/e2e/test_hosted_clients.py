"""Hosted packages through the real clients: twine uploads, pip and uv install, nothing else answers."""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass

import pytest
import requests

from tests.e2e.clients import (
    PYTHON,
    client_env,
    installed_module,
    make_venv,
    modern_pip_install,
    pip_install,
    run,
    twine_upload,
    uv_install,
    words,
    write_pypirc,
)
from tests.e2e.projects import make_self_building_sdist
from tests.e2e.server import JSON_V1, LocalshopServer
from tests.factories import Dist, make_wheel, upload_fields

pytestmark = pytest.mark.e2e

INDEXES = ["/repo/default/", "/simple/"]


@dataclass(frozen=True)
class Published:
    """A project twine uploaded to the module's server: a wheel and an sdist of one version."""

    project: str  # normalized name
    module: str
    wheel: Dist
    sdist: Dist


@pytest.fixture(scope="module")
def published(server: LocalshopServer, tmp_path_factory) -> Published:
    """``E2E.Demo`` 1.0 (named as a person might, not normalized), uploaded with twine."""
    dist_dir = tmp_path_factory.mktemp("dist")
    wheel, sdist = make_wheel("E2E.Demo", "1.0"), make_self_building_sdist("E2E.Demo", "1.0")
    result = twine_upload(
        [wheel.write(dist_dir), sdist.write(dist_dir)],
        "--repository-url", server.url + "/repo/default/",
        "-u", "admin", "-p", server.admin_password,
        env=client_env(tmp_path_factory.mktemp("home")),
    )
    assert f"Uploading {wheel.filename}" in result.output
    return Published("e2e-demo", "e2e_demo", wheel, sdist)


def test_twine_upload_puts_the_wheel_and_the_sdist_on_the_project_page(server, published):
    expected = {published.wheel.filename: published.wheel.sha256,
                published.sdist.filename: published.sdist.sha256}
    assert server.project_files(published.project) == expected
    status, _, body = server.request("/simple/")
    assert status == 200
    assert f'href="{published.project}/"' in body.decode()


@pytest.mark.parametrize("index", INDEXES)
def test_uploaded_files_download_byte_for_byte_with_the_wheel_metadata_beside(
    server, published, index
):
    page_url = f"{server.url}{index}{published.project}/"
    status, _, body = server.request(page_url, headers={"Accept": JSON_V1})
    assert status == 200
    urls = {f["filename"]: urllib.parse.urljoin(page_url, f["url"]) for f in json.loads(body)["files"]}

    for dist in (published.wheel, published.sdist):
        status, _, data = server.request(urls[dist.filename])
        assert (status, data) == (200, dist.data)

    status, _, metadata = server.request(urls[published.wheel.filename] + ".metadata")
    assert status == 200
    assert b"Name: E2E.Demo\nVersion: 1.0\n" in metadata


def test_a_byte_range_of_a_file_comes_through_waitress(server, published):
    url = f"{server.url}/simple/{published.project}/1/{published.wheel.filename}"
    status, headers, tail = server.request(url, headers={"Range": "bytes=-22"})  # the zip's end record
    assert (status, tail) == (206, published.wheel.data[-22:])
    assert headers["Content-Range"].endswith(f"/{len(published.wheel.data)}")


# --- pip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", INDEXES)
def test_pip_installs_the_wheel(server, published, index, tmp_path, env):
    python = make_venv(tmp_path / "venv")
    result = modern_pip_install(python, server.url + index, "e2e-demo", env=env)
    assert published.wheel.filename in result.output
    assert installed_module(python, published.module, env) == "1.0 wheel"


@pytest.mark.parametrize("index", INDEXES)
def test_pip_builds_and_installs_the_sdist(server, published, index, tmp_path, env):
    python = make_venv(tmp_path / "venv")
    result = modern_pip_install(
        python, server.url + index, "--no-binary", ":all:", "e2e-demo", env=env
    )
    assert published.sdist.filename in result.output
    assert installed_module(python, published.module, env) == "1.0 sdist"


def test_the_pip_that_python_bundles_installs_the_wheel(server, published, tmp_path, env):
    # ensurepip's pip is older than the test run's: the pages must suit it too.
    python = make_venv(tmp_path / "venv", with_pip=True)
    pip_install(python, server.url + "/simple/", "e2e-demo", env=env)
    assert installed_module(python, published.module, env) == "1.0 wheel"


# --- uv ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("index", INDEXES)
def test_uv_installs_the_wheel(server, published, index, tmp_path, env, uv_cache):
    python = make_venv(tmp_path / "venv")
    result = uv_install(python, server.url + index, "e2e-demo", env=env, cache_dir=uv_cache)
    assert "+ e2e-demo==1.0" in result.output
    assert installed_module(python, published.module, env) == "1.0 wheel"


@pytest.mark.parametrize("index", INDEXES)
def test_uv_builds_and_installs_the_sdist(server, published, index, tmp_path, env, uv_cache):
    python = make_venv(tmp_path / "venv")
    uv_install(python, server.url + index, "e2e-demo", env=env, cache_dir=uv_cache,
               options=("--no-binary", "e2e-demo"))
    assert installed_module(python, published.module, env) == "1.0 sdist"


# --- what is not there ----------------------------------------------------------------------


# "idna" is on PyPI and in this machine's own pip configuration (find-links, extra indexes):
# it installing would mean that configuration, not localshop, answered.
@pytest.mark.parametrize("project", ["no-such-project-e2e", "idna"])
def test_installing_a_project_localshop_does_not_have_fails(
    server, project, tmp_path, env, uv_cache
):
    python = make_venv(tmp_path / "venv")
    result = modern_pip_install(python, server.url + "/simple/", project, env=env, expect=1)
    assert f"No matching distribution found for {project}" in result.output
    result = uv_install(python, server.url + "/repo/default/", project, env=env,
                        cache_dir=uv_cache, expect=1)
    assert "not found in the package registry" in words(result.output)
    module = project.replace("-", "_")
    found = run([python, "-c", f"import importlib.util as u; print(u.find_spec({module!r}))"], env=env)
    assert found.output.strip() == "None"


# --- .pypirc ----------------------------------------------------------------------------------


@pytest.mark.parametrize("index", INDEXES)
def test_twine_uploads_with_the_pypirc_from_the_documentation(server, index, tmp_path, env):
    project = "pypirc-" + index.strip("/").split("/")[0]  # pypirc-repo, pypirc-simple
    dists = [make_wheel(project, "0.1"), make_self_building_sdist(project, "0.1")]
    dist_dir = tmp_path / "dist"
    dist_dir.mkdir()
    for dist in dists:
        dist.write(dist_dir)
    pypirc = write_pypirc(tmp_path / "pypirc", server.url + index, "admin", server.admin_password)

    twine_upload(sorted(dist_dir.glob("*")), "--config-file", pypirc, "-r", "local", env=env)

    assert server.project_files(project) == {d.filename: d.sha256 for d in dists}


# --- credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, password, message",
    [
        ("", "", "Authentication required"),  # twine sends no Authorization header at all
        ("admin", "wrong-password", "Invalid credentials"),
        ("nobody", None, "Invalid credentials"),  # None: the admin's (right) password
    ],
    ids=["no-credentials", "wrong-password", "unknown-user"],
)
def test_twine_upload_without_valid_credentials_is_refused(
    server, username, password, message, request, tmp_path, env
):
    project = f"refused-{request.node.callspec.id}"
    dist = make_wheel(project, "1.0")
    password = server.admin_password if password is None else password

    result = twine_upload([dist.write(tmp_path)], "--repository-url", server.url + "/repo/default/",
                          "-u", username, "-p", password, env=env, expect=1)

    assert "401 Unauthorized" in result.output
    assert message in words(result.output)
    assert server.project_files(project) == {}
    status, _, body = server.request("/simple/")
    assert project not in body.decode()


def test_pip_sees_a_new_upload_at_once_though_the_page_was_answered_from_memory(server, tmp_path, env):
    """pip asks with the same headers every run: from its second run on, the page comes from
    the server's memory of the answer, until anything in the database changes."""

    def upload(version: str) -> None:
        dist = make_wheel("replayed-demo", version)
        r = requests.post(server.url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", server.admin_password), timeout=30)
        assert r.status_code == 200, r.text

    def pip_download() -> list[str]:
        target = tmp_path / f"download-{len(list(tmp_path.iterdir()))}"
        run([PYTHON, "-m", "pip", "--isolated", "--disable-pip-version-check", "download",
             "--no-deps", "--no-cache-dir", "-d", target, "--index-url", server.url + "/simple/",
             "replayed-demo"], env=env)
        return sorted(p.name for p in target.iterdir())

    upload("1.0")
    assert pip_download() == ["replayed_demo-1.0-py3-none-any.whl"]
    assert pip_download() == ["replayed_demo-1.0-py3-none-any.whl"]  # the page, from memory
    upload("2.0")
    assert pip_download() == ["replayed_demo-2.0-py3-none-any.whl"]
