"""Publishing again, and publishing with older clients: uv publish, twine (old and new), and
distutils' ``setup.py sdist upload`` as localshop's original documentation shows it."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from packaging.version import Version

from tests.e2e.clients import TWINE, UV, pip_install, run, twine_upload, words, write_pypirc
from tests.e2e.projects import make_self_building_sdist
from tests.e2e.server import LocalshopServer
from tests.factories import Dist, make_wheel

pytestmark = pytest.mark.e2e


def write_dists(directory: Path, *dists: Dist) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [dist.write(directory) for dist in dists]


def stored(server: LocalshopServer, project: str) -> dict[str, tuple[str, str]]:
    """{filename: (sha256, upload-time)}: a true no-op changes neither."""
    page = server.project_json(project) or {"files": []}
    return {f["filename"]: (f["hashes"]["sha256"], f["upload-time"]) for f in page["files"]}


def twine_to(server: LocalshopServer, *args: str) -> tuple[str, ...]:
    return ("--repository-url", server.url + "/repo/default/",
            "-u", "admin", "-p", server.admin_password, *args)


# --- uv publish -------------------------------------------------------------------------------


def uv_publish(server: LocalshopServer, files, *options: str, env) -> str:
    url = server.url + "/repo/default/"
    return run(
        [UV, "publish", "--no-config", "--trusted-publishing", "never", "--publish-url", url,
         "-u", "admin", "-p", server.admin_password, *options, *files],
        env=env,
    ).output


def test_uv_publish_uploads_and_skips_what_its_check_url_finds(server, tmp_path, env):
    dists = [make_wheel("uv-published", "2.0"), make_self_building_sdist("uv-published", "2.0")]
    files = write_dists(tmp_path / "dist", *dists)
    check = ("--check-url", server.url + "/repo/default/")

    first = uv_publish(server, files, *check, env=env)
    assert all(f"Uploading {d.filename}" in first for d in dists), first
    before = stored(server, "uv-published")
    assert {name: sha for name, (sha, _) in before.items()} == {d.filename: d.sha256 for d in dists}

    again = uv_publish(server, files, *check, env=env)
    assert all(f"File {d.filename} already exists, skipping" in again for d in dists), again
    assert "Uploading" not in again
    assert stored(server, "uv-published") == before


def test_uv_publish_of_identical_files_without_check_url_is_a_no_op(server, tmp_path, env):
    dists = [make_wheel("uv-again", "1.0"), make_self_building_sdist("uv-again", "1.0")]
    files = write_dists(tmp_path / "dist", *dists)
    uv_publish(server, files, env=env)
    before = stored(server, "uv-again")

    # Without --check-url uv sends the files again: the server must answer 200, store nothing.
    again = uv_publish(server, files, env=env)
    assert all(f"Uploading {d.filename}" in again for d in dists), again
    assert stored(server, "uv-again") == before


# --- twine ------------------------------------------------------------------------------------


def test_twine_reupload_of_identical_files_is_a_no_op(server, tmp_path, env):
    files = write_dists(tmp_path / "dist", make_wheel("twice", "1.0"), make_self_building_sdist("twice", "1.0"))
    twine_upload(files, *twine_to(server), env=env)
    before = stored(server, "twice")

    twine_upload(files, *twine_to(server), env=env)

    assert len(before) == 2 and stored(server, "twice") == before


def test_current_twine_refuses_skip_existing_and_a_plain_rerun_is_the_way(server, tmp_path, env):
    # What users of twine 6.2 and later see: the flag is refused for any index but PyPI's, by
    # twine itself, before it sends anything. The README says to re-run plain `twine upload`.
    version = run([TWINE, "--version"], env=env).output.split()[2]
    assert Version(version) >= Version("6.2"), version
    files = write_dists(tmp_path / "dist", make_wheel("rerun", "1.0"), make_self_building_sdist("rerun", "1.0"))
    twine_upload(files, *twine_to(server), env=env)
    before = stored(server, "rerun")

    refused = twine_upload(files, *twine_to(server, "--skip-existing"), env=env, expect=1)
    assert "UnsupportedConfiguration" in refused.output
    assert "following features: --skip-existing" in words(refused.output)

    again = twine_upload(files, *twine_to(server), env=env)  # the recommended way: exit 0
    assert all(f"Uploading {f.name}" in again.output for f in files), again.output
    assert len(before) == 2 and stored(server, "rerun") == before


def test_twine_upload_of_changed_bytes_under_a_stored_filename_is_refused(server, tmp_path, env):
    original = make_wheel("changed", "1.0")
    twine_upload(write_dists(tmp_path / "a", original), *twine_to(server), env=env)
    changed = make_wheel("changed", "1.0", description="Other bytes, same filename.")
    assert changed.filename == original.filename and changed.sha256 != original.sha256

    result = twine_upload(write_dists(tmp_path / "b", changed), *twine_to(server, "--verbose"),
                          env=env, expect=1)

    # twine --verbose logs the status line: the reason phrase itself says what is wrong.
    assert f"400 File already exists: {original.filename}" in words(result.output)
    assert server.project_files("changed") == {original.filename: original.sha256}


def test_old_twine_skip_existing_skips_a_file_the_index_already_has(
    server, legacy_clients, tmp_path, env
):
    original = make_wheel("skipped", "1.0")
    files = write_dists(tmp_path / "a", original)
    twine_upload(files, *twine_to(server), env=env, twine=legacy_clients.twine)
    before = stored(server, "skipped")

    # Identical bytes: the server answers 200 (a no-op), so twine has nothing to skip.
    twine_upload(files, *twine_to(server, "--skip-existing"), env=env, twine=legacy_clients.twine)
    assert stored(server, "skipped") == before

    # Other bytes under the same filename: the 400 "File already exists" makes twine skip it.
    changed = make_wheel("skipped", "1.0", description="Rebuilt: other bytes.")
    result = twine_upload(write_dists(tmp_path / "b", changed),
                          *twine_to(server, "--skip-existing"),
                          env=env, twine=legacy_clients.twine)
    assert f"Skipping {original.filename} because it appears to already exist" in words(result.output)
    assert stored(server, "skipped") == before


# --- distutils: python setup.py sdist upload -----------------------------------------------

SETUP_PY = """\
# distutils' own setup(): setuptools' setup() replaces the upload command with an error.
from distutils.core import setup

setup(name={name!r}, version="0.3", packages=["e2e_legacy"], description="legacy upload")
"""


class DigestRefused(AssertionError):
    """localshop refused distutils' upload over its blake2_256_digest (the bug below)."""


@pytest.mark.parametrize("index", ["/repo/default/", "/simple/"])
def test_setup_py_sdist_upload_with_the_documented_pypirc(
    server, legacy_clients, index, tmp_path, env
):
    name = "e2e-legacy-" + index.strip("/").split("/")[0]  # e2e-legacy-repo, -simple
    project = tmp_path / "project"
    (project / "e2e_legacy").mkdir(parents=True)
    (project / "e2e_legacy" / "__init__.py").write_text("VERSION = '0.3'\n")
    (project / "setup.py").write_text(SETUP_PY.format(name=name))
    # env's HOME is tmp_path/"home": this is the ~/.pypirc distutils reads.
    write_pypirc(Path(env["HOME"]) / ".pypirc", server.url + index, "admin", server.admin_password)

    result = run([legacy_clients.python, "setup.py", "sdist", "upload", "-r", "local"],
                 cwd=project, env=env, expect=None)

    if "Wrong blake2_256_digest" in result.output:
        raise DigestRefused(str(result))
    assert result.returncode == 0 and "Server response (200): OK" in result.output, result
    (sdist,) = (project / "dist").glob("*.tar.gz")
    assert server.project_files(name) == {sdist.name: hashlib.sha256(sdist.read_bytes()).hexdigest()}

    # ... and pip installs it (built with the legacy environment's setuptools: only localshop
    # is asked, and it has no setuptools to offer a build environment).
    site = tmp_path / "site"
    pip_install(legacy_clients.python, server.url + index, name,
                options=("--no-build-isolation", "--target", str(site)), env=env)
    imported = run([legacy_clients.python, "-c", "import e2e_legacy; print(e2e_legacy.VERSION)"],
                   env={**env, "PYTHONPATH": str(site)})
    assert imported.output.strip() == "0.3"

