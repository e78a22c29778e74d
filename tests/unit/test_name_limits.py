"""How long a name may be, wherever names come in (issue 11): uploads, the tree's keys,
repositories, users, and upstream's listings."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypi_simple import DistributionPackage

from shop.access import accounts
from shop.mirror.upstream import Upstream, listed_entry
from shop.model.listings import Entry
from shop.model import names, repositories
from shop.model.tree import Package

pytestmark = pytest.mark.fault

LONG_NAME = "d" * (names.MAX_NAME_LENGTH + 1)


def test_names_versions_and_filenames_over_their_limits_are_refused_naming_the_limit():
    assert names.is_valid_name("d" * names.MAX_NAME_LENGTH)
    assert not names.is_valid_name(LONG_NAME)
    with pytest.raises(names.InvalidName, match="201 characters, more than 200"):
        names.valid_name(LONG_NAME)
    with pytest.raises(names.InvalidName, match="more than 100"):
        names.parse_version("1." + "0" * names.MAX_VERSION_LENGTH)
    with pytest.raises(names.InvalidName, match="more than 255"):
        names.check_filename("a" * 252 + ".whl")


def test_the_tree_refuses_a_package_name_over_the_limit(repository):
    with pytest.raises(names.InvalidName, match="more than 200"):
        repository.add(LONG_NAME, Package(LONG_NAME))


def test_repository_and_user_names_over_the_limit_are_refused(root):
    with pytest.raises(repositories.RepositoryError, match="at most 200 characters"):
        repositories.add_repository(root, LONG_NAME)
    with pytest.raises(accounts.AccountError, match="at most 200 characters"):
        accounts.add_user(root, LONG_NAME, "a long enough password", passwords=None)


def test_an_upstream_file_with_an_over_long_name_or_version_is_left_out():
    def listed(filename: str, version: str) -> Entry | None:
        return listed_entry(DistributionPackage(
            filename=filename, url=f"https://files.example/{filename}", version=version,
            package_type="wheel", project="demo", has_sig=None, digests={},
            requires_python=None))

    assert listed("demo-1.0-py3-none-any.whl", "1.0") is not None
    assert listed("demo-1.0-" + "py3." * 62 + "py3-none-any.whl", "1.0") is None
    assert listed("demo-1.0-py3-none-any.whl", "1." + "0" * names.MAX_VERSION_LENGTH) is None


@pytest.fixture
def upstream_naming():
    """A loopback index whose project page for any project gives the name it is told to."""
    told = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": told["name"],
                               "files": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield told, f"http://127.0.0.1:{server.server_address[1]}/simple/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("spelled", ["D" * (names.MAX_NAME_LENGTH + 1), "other", "de mo!"])
def test_upstreams_spelling_of_a_name_is_kept_only_if_valid_and_this_projects(upstream_naming,
                                                                               spelled):
    told, base = upstream_naming
    upstream = Upstream((5.0, 5.0), "localshop-test")
    told["name"] = "Demo"
    assert upstream.project_page(base, "demo").name == "Demo"
    told["name"] = spelled
    assert upstream.project_page(base, "demo").name == "demo"
