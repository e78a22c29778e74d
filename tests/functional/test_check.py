"""``localshop check [--repair]`` on a real FileStorage in tmp_path: bytes changed on disk, a
missing blob and a wrong count are each named; a broken mirrored file is forgotten and
fetched again from a real loopback upstream; a broken hosted one is only reported."""
from __future__ import annotations

import os

import pytest

from shop.scripts.cli import main
from shop.services import services_of
from shop.storage import database
from tests.conftest import app_settings
from tests.factories import make_wheel
from tests.functional.conftest import ADMIN, JSON, upload
from tests.storecheck import assert_app_store_consistent, opened
from tests.upstream import FakeIndex, UpstreamServer


@pytest.fixture
def upstream():
    with UpstreamServer(FakeIndex()) as server:
        yield server


@pytest.fixture
def shop(make_app, upstream, tmp_path):
    """An app mirroring ``upstream`` on tmp_path/var, and the ini file of the same database."""
    settings = {"shop.upstream": upstream.url, "shop.argon2_profile": "cheapest"}
    ini = tmp_path / "localshop.ini"
    lines = [f"{k} = {v}" for k, v in app_settings(tmp_path / "var", **settings).items()]
    ini.write_text("[app:main]\nuse = call:shop:main\n" + "\n".join(lines) + "\n")
    apps = []

    def start():
        apps.append(make_app(**settings))
        return apps[-1]

    yield start, str(ini)
    for app in apps:
        services_of(app.app.registry).downloads.close()
        services_of(app.app.registry).upstream.session.close()


def stop(app) -> None:
    """Close the app's database (the CLI needs its lock), once mirrored files are stored."""
    with opened(app):
        pass
    database(app.app.registry).close()


def localshop(ini: str, *args: str, capsys) -> tuple[int, list[str], str]:
    status = main(["-c", ini, *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def mirrored(app, upstream, name: str):
    """A wheel on upstream, downloaded once through the app (so its bytes are stored)."""
    wheel = make_wheel(name, "1.0")
    upstream.index.add(name, wheel)
    assert app.get(file_url(app, name, wheel), headers=ADMIN).body == wheel.data
    return wheel


def file_url(app, name: str, wheel) -> str:
    """Where the project page (looked up upstream if need be) links ``wheel``."""
    files = app.get(f"/repo/default/{name}/", headers={**ADMIN, "Accept": JSON}).json["files"]
    return f"/repo/default/{name}/" + next(f["url"] for f in files if f["filename"] == wheel.filename)


def hosted(app, name: str):
    wheel = make_wheel(name, "1.0")
    assert upload(app, wheel).status_int == 200
    return wheel


def blob_path(app, filename: str, attribute: str = "blob") -> str:
    with opened(app) as root:
        for package in root.repositories["default"].values():
            for release in package.values():
                if filename in release:
                    return getattr(release[filename], attribute).committed()
    raise KeyError(filename)


def flip_a_byte(path: str) -> None:
    os.chmod(path, 0o644)  # ZODB leaves committed blob files read-only
    with open(path, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_sound_database_checks_with_exit_0_and_a_one_line_summary(shop, upstream, capsys):
    start, ini = shop
    app = start()
    hosted(app, "own-one")
    mirrored(app, upstream, "their-one")
    stop(app)

    status, out, err = localshop(ini, "check", capsys=capsys)

    assert status == 0, err
    assert len(out) == 1 and "2 stored files" in out[0] and "all well" in out[0], out


def test_check_names_a_flipped_byte_a_missing_blob_and_a_wrong_count(shop, upstream, capsys):
    start, ini = shop
    app = start()
    flipped, missing, sound = hosted(app, "flipped"), hosted(app, "missing"), hosted(app, "sound")
    flip_a_byte(blob_path(app, flipped.filename))
    os.remove(blob_path(app, missing.filename))
    with opened(app) as root:
        root.repositories["default"].count_stored(1, 100)  # a count gone wrong
    stop(app)

    status, out, err = localshop(ini, "check", capsys=capsys)

    assert status == 1
    assert "3 problem(s)" in err
    assert len(out) == 3, out
    assert any(line.startswith(f"default/flipped/{flipped.filename}: its blob's sha256 is")
               and "hosted" in line for line in out), out
    assert any(line.startswith(f"default/missing/{missing.filename}: its blob file is missing")
               for line in out), out
    assert any(line.startswith("default: counts 4 stored files of") for line in out), out
    assert not any(sound.filename in line for line in out)


def test_repair_forgets_a_broken_mirrored_file_which_is_then_fetched_again(shop, upstream,
                                                                           capsys):
    start, ini = shop
    app = start()
    wheel = mirrored(app, upstream, "their-one")
    flip_a_byte(blob_path(app, wheel.filename))
    stop(app)

    status, out, err = localshop(ini, "check", "--repair", capsys=capsys)

    assert status == 0, err
    assert any(wheel.filename in line and "forgotten" in line for line in out), out
    assert "1 repaired" in out[-1]
    app = start()
    assert app.get(file_url(app, "their-one", wheel), headers=ADMIN).body == wheel.data
    assert upstream.count("/files/" + wheel.filename) == 2  # fetched again
    assert_app_store_consistent(app)
    stop(app)
    assert localshop(ini, "check", capsys=capsys)[0] == 0


def test_repair_reports_a_broken_hosted_file_and_keeps_what_it_repaired(shop, upstream, capsys):
    start, ini = shop
    app = start()
    own = hosted(app, "own-one")
    theirs = mirrored(app, upstream, "their-one")
    flip_a_byte(blob_path(app, own.filename))
    flip_a_byte(blob_path(app, theirs.filename))
    stop(app)

    status, out, err = localshop(ini, "check", "--repair", capsys=capsys)

    assert status == 1
    assert "1 repaired, 1 left" in err
    assert any(own.filename in line and "hosted: cannot be fetched again" in line
               for line in out), out
    status, out, err = localshop(ini, "check", capsys=capsys)
    assert status == 1 and len(out) == 1 and own.filename in out[0]  # the mirrored one is gone


def test_broken_core_metadata_of_a_mirrored_wheel_is_named_and_forgotten(shop, upstream, capsys):
    start, ini = shop
    app = start()
    wheel = mirrored(app, upstream, "their-one")
    assert app.get(file_url(app, "their-one", wheel) + ".metadata", headers=ADMIN)
    flip_a_byte(blob_path(app, wheel.filename, "core_metadata"))
    stop(app)

    status, out, err = localshop(ini, "check", capsys=capsys)
    assert status == 1 and "core metadata: its blob's sha256" in out[0], out

    assert localshop(ini, "check", "--repair", capsys=capsys)[0] == 0
    assert localshop(ini, "check", capsys=capsys)[0] == 0
