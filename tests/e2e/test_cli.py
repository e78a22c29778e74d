"""The ``localshop`` command on the server's own database: beside a stopped server, and refused
(exit 2, saying why) while the running server holds the FileStorage lock."""
from __future__ import annotations

import json

import pytest

from tests.e2e.clients import LOCALSHOP, Result, run, twine_upload, words
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(tmp_path) -> LocalshopServer:
    """A localshop of this test's own, not started: the test starts and stops it."""
    server = LocalshopServer(tmp_path / "shop")
    yield server
    server.stop()


def localshop(server: LocalshopServer, *args: str, input: str | None = None,
              expect: int | None = 0) -> Result:
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env(), input=input,
               expect=expect)


def users(server: LocalshopServer) -> list[str]:
    """``user list``, one "name (flags)" line per account."""
    return localshop(server, "user", "list").stdout.splitlines()


def upload(server: LocalshopServer, dist, username: str, password: str, env, expect=0):
    return twine_upload([dist.write(server.base_dir)],
                        "--repository-url", server.url + "/repo/default/",
                        "-u", username, "-p", password, env=env, expect=expect)


def test_accounts_added_on_a_stopped_database_can_upload_once_the_server_runs(shop, env):
    # The database does not exist yet: the first command creates it (and the admin account).
    added = localshop(shop, "user", "add", "bob", "--admin", "--password-stdin", input="bob-secret\n")
    assert added.stdout == "Added user bob (admin)\n"
    localshop(shop, "user", "add", "carol", "--password-stdin", input="carol-secret\n")
    localshop(shop, "repository", "set", "default", "--role", "user:carol=uploader")
    assert users(shop) == ["admin (admin)", "bob (admin)", "carol"]

    shop.start()
    bobs, carols = make_wheel("bobs-project", "1.0"), make_wheel("carols-project", "1.0")
    upload(shop, bobs, "bob", "bob-secret", env)
    upload(shop, carols, "carol", "carol-secret", env)

    assert shop.project_files("bobs-project") == {bobs.filename: bobs.sha256}
    assert shop.project_files("carols-project") == {carols.filename: carols.sha256}


def test_an_account_needs_an_uploader_role_and_the_refusal_says_how_to_grant_it(shop, env):
    added = localshop(shop, "user", "add", "erin", "--password-stdin", input="erin-secret\n")
    assert added.stdout == "Added user erin\n"

    shop.start()
    dist = make_wheel("erins-project", "1.0")
    refused = upload(shop, dist, "erin", "erin-secret", env, expect=1)
    assert "403" in refused.output
    assert "repository set default --role user:erin=uploader" in refused.output
    assert shop.project_files("erins-project") == {}

    shop.stop()
    localshop(shop, "repository", "set", "default", "--role", "user:erin=uploader")
    shop.start()
    upload(shop, dist, "erin", "erin-secret", env)
    assert shop.project_files("erins-project") == {dist.filename: dist.sha256}


def test_changed_password_takes_effect_when_the_server_starts_again(shop, env):
    shop.start()
    shop.stop()

    localshop(shop, "user", "passwd", "admin", "--password-stdin", input="new-admin-secret\n")

    shop.start()
    old = upload(shop, make_wheel("refused", "1.0"), "admin", shop.admin_password, env, expect=1)
    assert "401 Unauthorized" in old.output
    dist = make_wheel("accepted", "1.0")
    upload(shop, dist, "admin", "new-admin-secret", env)
    assert shop.project_files("accepted") == {dist.filename: dist.sha256}
    assert shop.project_files("refused") == {}


def test_command_line_says_the_running_server_holds_the_database(shop):
    shop.start()

    result = localshop(shop, "user", "add", "dave", "--password-stdin", input="dave-secret\n",
                       expect=2)

    message = words(result.output)
    assert "Cannot open the database" in message
    assert "another process" in message and "holds its lock" in message
    assert str(shop.var_dir / "Data.fs") in message
    # The refused command broke nothing: the server still serves, and nothing was written.
    assert shop.running
    status, _, _ = shop.request("/simple/")
    assert status == 200
    shop.stop()
    assert users(shop) == ["admin (admin)"]


def test_listing_commands_read_the_database_the_running_server_holds(shop, env):
    localshop(shop, "user", "add", "carol", "--password-stdin", input="carol-secret\n")
    localshop(shop, "repository", "add", "team", "--title", "Team")
    key = json.loads(localshop(shop, "credential", "create", "carol", "--json").stdout)
    shop.start()
    # Written while the server runs (through it): the lists must read past the saved index.
    upload(shop, make_wheel("listed", "1.0"), "admin", shop.admin_password, env)

    assert users(shop) == ["admin (admin)", "carol"]
    repositories = localshop(shop, "repository", "list").stdout
    assert "default  projects 1" in repositories and "team  projects 0" in repositories
    [credential] = localshop(shop, "credential", "list").stdout.splitlines()
    assert credential.startswith(f"{key['access_key']}  carol  *  read  active")
    # The server is undisturbed, and a command that writes is still refused.
    status, _, _ = shop.request("/simple/listed/")
    assert status == 200
    refused = localshop(shop, "user", "add", "dave", "--password-stdin", input="x\n", expect=2)
    assert "holds its lock" in words(refused.output)


def test_a_listing_command_before_the_first_start_says_there_is_no_database(shop):
    result = localshop(shop, "user", "list", expect=2)

    assert "There is no database" in result.output and str(shop.var_dir / "Data.fs") in result.output
    assert not (shop.var_dir / "Data.fs").exists()


class StaleIndex(AssertionError):
    """The next process found the FileStorage index out of date (the bug below)."""


def test_server_stopped_with_ctrl_c_leaves_the_database_index_current(shop, env):
    shop.start()
    upload(shop, make_wheel("indexed", "1.0"), "admin", shop.admin_password, env)
    shop.stop()  # SIGINT, as Ctrl-C in `make run`

    result = localshop(shop, "user", "list")

    if "Ignoring index" in result.stderr:
        raise StaleIndex(result.stderr)
    assert result.stderr == ""
