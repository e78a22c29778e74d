"""What a new user meets in the first hour (issue 12), with the real server and clients.

A credential with a wrong secret is refused by pip from localhost, where no credentials are
needed at all (``development.ini``'s read networks); the admin password generated at the
first start stands out of the start-up log; a later start with another
``LOCALSHOP_ADMIN_PASSWORD`` says that it is ignored and how to change the password.
"""
from __future__ import annotations

import json
import re

import pytest
import requests

from tests.e2e.clients import LOCALSHOP, make_venv, pip_install, run, twine_upload, words
from tests.e2e.server import LocalshopServer
from tests.factories import make_wheel

pytestmark = pytest.mark.e2e
WRONG = "401 Error, Credentials not correct"  # pip's words for our 401


class FirstStart(LocalshopServer):
    """A server whose environment sets LOCALSHOP_ADMIN_PASSWORD only when told to."""

    given_password: str | None = None

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        env.pop("LOCALSHOP_ADMIN_PASSWORD")
        if self.given_password is not None:
            env["LOCALSHOP_ADMIN_PASSWORD"] = self.given_password
        return env


@pytest.fixture
def local_shop(tmp_path):
    """Repository default readable from this machine without credentials, as in development.ini;
    not started yet."""
    server = LocalshopServer(tmp_path / "shop", settings={
        "shop.default.anonymous_read": "false", "shop.default.read_networks": "127.0.0.0/8 ::1"})
    yield server
    server.stop()


def test_pip_with_a_wrong_secret_is_refused_where_no_credentials_are_needed(local_shop, tmp_path, env):
    created = run([LOCALSHOP, "-c", local_shop.ini, "credential", "create", "admin", "--json"],
                  env=local_shop.process_env())
    keys = json.loads(created.stdout)
    local_shop.start()
    dist = make_wheel("first-hour", "1.0")
    twine_upload([dist.write(tmp_path)], "--repository-url", local_shop.url + "/repo/default/",
                 "-u", "admin", "-p", local_shop.admin_password, env=env)
    python = make_venv(tmp_path / "venv", with_pip=True)
    index = local_shop.url.replace("http://", "http://{}@") + "/repo/default/"

    refused = pip_install(python, index.format(f"{keys['access_key']}:{'0' * 32}"), "first-hour",
                          env=env, expect=1)
    assert WRONG in words(refused.output), refused.output
    pip_install(python, index.format(f"{keys['access_key']}:{keys['secret_key']}"), "first-hour",
                env=env)
    pip_install(python, local_shop.url + "/repo/default/", "first-hour", "--force-reinstall",
                env=env)  # and without credentials, from this machine, as before


def test_the_generated_admin_password_stands_out_and_a_changed_one_is_said_to_be_ignored(tmp_path):
    server = FirstStart(tmp_path / "shop")
    with server:
        log = server.log()
    block = re.search(r"^=+\n  Created account 'admin' with password: (\S+)\n"
                      r"  \(shown once; change it with: localshop -c INI user passwd admin\)\n=+$",
                      log, re.MULTILINE)
    assert block, log
    generated = block.group(1)
    assert "Warning" not in log and "warning" not in log.replace("WARNING", ""), log

    server.given_password = "another-password"
    with server:
        status = requests.get(server.url + "/repo/default/", auth=("admin", generated), timeout=10)
        assert status.status_code == 200  # the generated password still holds
        assert requests.get(server.url + "/repo/default/", timeout=10,
                            auth=("admin", "another-password")).status_code == 401
    assert ("LOCALSHOP_ADMIN_PASSWORD is ignored: it sets the password of 'admin' only when the "
            "account is first created") in server.log()
    assert "Change it with: localshop -c INI user passwd admin" in server.log()

    server.given_password = generated  # the same password again: nothing to say
    before = server.log().count("LOCALSHOP_ADMIN_PASSWORD is ignored")
    with server:
        pass
    assert server.log().count("LOCALSHOP_ADMIN_PASSWORD is ignored") == before
