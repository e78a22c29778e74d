"""``localshop import`` and ``localshop export`` as a team moving in uses them: directories of
files (pypiserver's flat one, the original localshop's nested one), a real devpi's export,
and an export of one localshop imported into a fresh one; then pip installs from it."""
from __future__ import annotations

import datetime
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.clients import make_venv, modern_pip_install, run, twine_upload, words
from tests.e2e.devpi import Devpi, Unavailable, devpi_venv
from tests.e2e.projects import make_self_building_sdist
from tests.e2e.server import LocalshopServer
from tests.e2e.test_cli import localshop, shop  # noqa: F401 (shop: a fixture)
from tests.e2e.zeoserver import zeo_server
from tests.factories import Dist, make_sdist, make_wheel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def devpi_bin() -> Path:
    try:
        return devpi_venv()
    except Unavailable as e:
        pytest.skip(f"devpi-server and devpi-client cannot be installed here: {e}")


def upload_time(server: LocalshopServer, project: str) -> dict[str, str]:
    """{filename: upload-time} of a project's simple page (PEP 700)."""
    return {f["filename"]: f["upload-time"] for f in server.project_json(project)["files"]}


def moving_in(teams: Path) -> dict[str, Dist]:
    """pypiserver's flat directory and the original localshop's nested one under ``teams``
    (~/.localshop/files/<repository>/<python version>/<letter>/<name>/), with a broken wheel
    and a file that is no distribution; the good distributions by project."""
    flat = teams / "pypiserver-packages"
    nested = teams / "localshop-files" / "default"
    wheels, sdists = nested / "py3" / "n" / "nested-tool", nested / "source" / "n" / "nested-tool"
    broken_dir, old_dir = nested / "py3" / "b" / "broken", nested / "source" / "o" / "Old-Style"
    for directory in (flat, wheels, sdists, broken_dir, old_dir):
        directory.mkdir(parents=True)
    dists = {
        "flat-tool": (make_wheel("Flat-Tool", "1.0"), flat),
        "flat-lib": (make_sdist("flat-lib", "2.0"), flat),
        "nested-tool": (make_wheel("nested-tool", "3.0", requires_python=">=3.8"), wheels),
        "nested-tool-sdist": (make_self_building_sdist("nested-tool", "3.1"), sdists),
        # as setuptools before 69 named sdists
        "old-style": (make_sdist("Old-Style", "0.9", filename="Old-Style-0.9.tar.gz"), old_dir),
    }
    for dist, where in dists.values():
        dist.write(where)
    (broken_dir / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip at all")
    (flat / "index.html").write_text("<html></html>")
    return {project: dist for project, (dist, _) in dists.items()}


def test_flat_and_nested_trees_import_except_the_broken_file_and_pip_installs(shop, tmp_path, env):
    teams = tmp_path / "moving-in"
    dists = moving_in(teams)
    wheel, sdist, old_style = dists["flat-tool"], dists["flat-lib"], dists["old-style"]
    nested_wheel, nested_sdist = dists["nested-tool"], dists["nested-tool-sdist"]

    result = localshop(shop, "import", teams, expect=1)

    assert ("refused localshop-files/default/py3/b/broken/broken-1.0-py3-none-any.whl: Invalid wheel"
            " broken-1.0-py3-none-any.whl: it is not a zip archive") in result.stdout
    summary = words(result.stderr)
    assert ("Imported 5 files into repository default (files, in 1 commit); skipped 0 already"
            " stored; refused 1; ignored 1 files that are no distributions.") in summary
    # Again: what is stored is skipped; other bytes under a stored name are refused.
    changed = make_wheel("Flat-Tool", "1.0", requires_python=">=3.9")
    (teams / "later").mkdir()
    changed.write(teams / "later")
    again = localshop(shop, "import", teams, expect=1)
    assert "refused later/flat_tool-1.0-py3-none-any.whl: File already exists" in again.stdout
    assert "Imported 0 files into repository default (files, in 0 commits); skipped 5 already" \
        " stored; refused 2;" in words(again.stderr)

    shop.start()
    assert shop.project_files("flat-tool") == {wheel.filename: wheel.sha256}
    assert shop.project_files("flat-lib") == {sdist.filename: sdist.sha256}
    assert shop.project_files("nested-tool") == {nested_wheel.filename: nested_wheel.sha256,
                                                 nested_sdist.filename: nested_sdist.sha256}
    assert shop.project_files("old-style") == {old_style.filename: old_style.sha256}
    assert shop.project_files("broken") == {}
    page = shop.project_json("nested-tool")
    assert {f["filename"]: f.get("requires-python") for f in page["files"]}[
        nested_wheel.filename] == ">=3.8"  # read from the wheel's own METADATA
    python = make_venv(tmp_path / "venv")
    index = f"{shop.url}/repo/default/"
    modern_pip_install(python, index, "flat-tool", "nested-tool==3.1", env=env)
    code = "import flat_tool, nested_tool; print(flat_tool.VERSION, nested_tool.VERSION, nested_tool.ORIGIN)"
    assert run([python, "-c", code], env=env).stdout.split() == ["1.0", "3.1", "sdist"]


def test_a_real_devpi_export_imports_with_its_upload_times(devpi_bin, shop, tmp_path):
    devpi = Devpi(devpi_bin, tmp_path / "devpi")
    dists = tmp_path / "dists"
    dists.mkdir()
    wheel, sdist = make_wheel("devpi-tool", "1.0"), make_sdist("Devpi_Lib", "0.5")
    wheel.write(dists), sdist.write(dists)
    devpi.start()
    try:
        devpi.client("use", devpi.url)
        devpi.client("user", "-c", "alice", "password=alice-secret", "email=alice@example.com")
        devpi.client("login", "alice", "--password", "alice-secret")
        devpi.client("index", "-c", "dev", "bases=")
        devpi.client("use", "alice/dev")
        devpi.client("upload", "--from-dir", dists)
    finally:
        devpi.stop()
    exported = devpi.export(tmp_path / "devpi-export")
    recorded = devpi_upload_times(exported)

    result = localshop(shop, "import", exported)

    summary = words(result.stdout)
    assert "Imported 2 files into repository default (devpi export, in 1 commit)" in summary
    assert "refused 0;" in summary and "without an account here: alice" in summary
    shop.start()
    assert shop.project_files("devpi-tool") == {wheel.filename: wheel.sha256}
    assert shop.project_files("devpi-lib") == {sdist.filename: sdist.sha256}
    times = {**upload_time(shop, "devpi-tool"), **upload_time(shop, "devpi-lib")}
    assert times == {wheel.filename: recorded[wheel.filename], sdist.filename: recorded[sdist.filename]}
    localshop(shop, "export", tmp_path / "ours")  # the uploader devpi logged, kept by name
    projects = json.loads((tmp_path / "ours" / "localshop-export.json").read_text())["projects"]
    assert [(p["name"], [f["uploader"] for f in p["files"]]) for p in projects] == [
        ("Devpi_Lib", ["alice"]), ("devpi-tool", ["alice"])]


def devpi_upload_times(exported: Path) -> dict[str, str]:
    """{filename: upload time as PEP 700 writes it} of what devpi's dataindex.json logged."""
    index = json.loads((exported / "dataindex.json").read_text())["indexes"]["alice/dev"]
    times = {}
    for entry in index["files"]:
        when = datetime.datetime(*entry["log"][0]["when"][:6])
        times[entry["relpath"].rsplit("/", 1)[1]] = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(times) == 2, index
    return times


def test_export_then_import_into_a_fresh_database_keeps_uploader_times_yanks_owners_status(
        tmp_path):
    old = LocalshopServer(tmp_path / "old")
    new = LocalshopServer(tmp_path / "new")
    try:
        _fill_the_old_shop(old, tmp_path)
        old.start()  # export only reads: it runs beside the running server
        exported = localshop(old, "export", tmp_path / "export")
        old.stop()
        assert words(exported.stdout).startswith("Exported 3 files")

        imported = localshop(new, "import", tmp_path / "export")

        assert "Imported 3 files" in imported.stdout and "(localshop export," in imported.stdout
        assert "without an account here: bob" in words(imported.stdout)
        again = localshop(new, "export", tmp_path / "again")
        assert words(again.stdout).startswith("Exported 3 files")
        assert _manifest(tmp_path / "again") == _manifest(tmp_path / "export")
        owners = localshop(new, "project", "owners", "default", "bobs-tool").stdout
        assert owners.strip() == "Owners of Bobs-Tool: admin, bob"
        new.start()
        page = new.project_json("bobs-tool")
        assert {f["filename"]: f["yanked"] for f in page["files"]} == {
            "bobs_tool-1.0-py3-none-any.whl": "broken build", "bobs_tool-2.0.tar.gz": False}
        assert new.project_json("admins-tool")["project-status"] == {"status": "archived",
                                                                     "reason": "moved"}
    finally:
        old.stop()
        new.stop()


def _fill_the_old_shop(old: LocalshopServer, tmp_path: Path) -> None:
    """bob's project (two files, one release yanked, admin a second owner) and admin's
    (archived)."""
    bobs, admins = tmp_path / "bobs", tmp_path / "admins"
    bobs.mkdir(), admins.mkdir()
    make_wheel("Bobs-Tool", "1.0").write(bobs)
    make_sdist("Bobs-Tool", "2.0").write(bobs)
    make_wheel("admins-tool", "1.0").write(admins)
    localshop(old, "user", "add", "bob", "--password-stdin", input="bob-secret\n")
    localshop(old, "repository", "set", "default", "--role", "user:bob=uploader")
    localshop(old, "import", bobs, "--uploader", "bob")
    localshop(old, "import", admins)
    localshop(old, "release", "yank", "default", "bobs-tool", "1.0", "--reason", "broken build")
    localshop(old, "project", "owners", "default", "bobs-tool", "--add", "admin")
    localshop(old, "project", "status", "default", "admins-tool", "archived", "--reason", "moved")


def _manifest(directory: Path) -> dict:
    """The export's manifest without the time it was written."""
    manifest = json.loads((directory / "localshop-export.json").read_text())
    del manifest["exported"]
    return manifest


def test_import_names_an_unknown_uploader_and_a_missing_directory(shop, tmp_path):
    refused = localshop(shop, "import", tmp_path, "--uploader", "nobody", expect=1)
    assert "No user 'nobody'" in refused.stderr and "--uploader NAME" in refused.stderr
    missing = localshop(shop, "import", tmp_path / "nowhere", expect=1)
    assert f"No directory {tmp_path / 'nowhere'}" in missing.stderr


def test_import_beside_a_running_server_on_zeo_while_twine_uploads_to_the_same_project(tmp_path,
                                                                                       env):
    many = tmp_path / "many"
    many.mkdir()
    imported = [make_wheel("team-tool", f"1.{i}") for i in range(150)]  # two batches
    for dist in imported:
        dist.write(many)
    uploaded = [make_wheel("team-tool", f"2.{i}").write(tmp_path) for i in range(4)]
    (tmp_path / "zeo").mkdir()
    with zeo_server(tmp_path / "zeo") as (address, _):
        server = LocalshopServer(tmp_path / "shop", settings={
            "zodbconn.uri": f"zeo://{address}?blob_dir={tmp_path / 'cache'}&shared_blob_dir=false",
            "shop.secret": "one-secret-for-every-process"})
        with server, ThreadPoolExecutor(1) as uploads:
            twine = uploads.submit(twine_upload, uploaded, "--repository-url",
                                   server.url + "/repo/default/", "-u", "admin", "-p",
                                   server.admin_password, env=env)
            result = localshop(server, "import", many)
            twine.result()

            assert "Imported 150 files into repository default (files, in 2 commits)" in result.stdout
            files = server.project_files("team-tool")
    assert len(files) == 154
    assert {d.filename: d.sha256 for d in imported}.items() <= files.items()
