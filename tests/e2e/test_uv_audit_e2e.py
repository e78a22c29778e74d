"""PEP 792 project statuses as uv shows them: ``uv audit`` of a locked project whose
dependencies localshop serves, a mirrored one carrying upstream's status and a hosted one
whose status is set with the command line.

``uv audit`` also asks a vulnerability service (OSV) about every locked version: a fake OSV
on loopback answers it (``--service-url``), knowing of no vulnerability. The statuses come
from localshop's simple pages, the index each package's ``source`` names in ``uv.lock``:
``uv audit --frozen`` needs no index option (nor a Python); without ``--frozen`` (also with
``--locked``) it resolves the project again first, which needs the index given again.
"""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.clients import LOCALSHOP, PYTHON, UV, run, words
from tests.e2e import test_mirror_e2e
from tests.e2e.test_mirror_e2e import index_url
from tests.e2e.test_publishing_clients import uv_publish, write_dists
from tests.factories import make_wheel
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

make_mirror = test_mirror_e2e.make_mirror  # the fixture: a localshop mirroring an upstream


# --- a fake OSV ------------------------------------------------------------------------------


class FakeOsv:
    """OSV's ``POST /v1/querybatch`` on loopback: no vulnerability for any query.

    uv sends ``{"queries": [{"package": {"name": N, "ecosystem": "PyPI"}, "version": V}]}``
    and reads ``{"results": [{"vulns": [...]}, ...]}``, one result per query, in order (an
    empty object: no vulnerabilities). ``queries`` keeps what was asked, for the test.
    """

    def __init__(self) -> None:
        self.queries: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def asked(self) -> set[tuple[str, str]]:
        """(name, version) of every package uv asked about."""
        return {(q["package"]["name"], q["version"]) for q in self.queries}

    def _handler(self):
        osv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/querybatch":
                    return self._send(404, {"code": 5, "message": "Not Found"})
                queries = json.loads(body)["queries"]
                osv.queries.extend(queries)
                self._send(200, {"results": [{} for _ in queries]})

            def do_GET(self):  # /v1/vulns/ID: never asked, as no query names one
                self._send(404, {"code": 5, "message": "Not Found"})

            def _send(self, status: int, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def __enter__(self) -> "FakeOsv":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the uv project --------------------------------------------------------------------------


def localshop(server, *args: str):
    return run([LOCALSHOP, "-c", server.ini, *args], env=server.process_env())


def set_status(shop, project: str, status: str, *options: str) -> None:
    """``localshop project status``: with the server stopped (FileStorage has one writer)."""
    shop.stop()
    localshop(shop, "project", "status", "default", project, status, *options)
    shop.start()


def uv_project(directory: Path, name: str, *dependencies: str) -> Path:
    """A uv project depending on ``dependencies``. No ``[[tool.uv.index]]``: ``--no-config``
    ignores ``[tool.uv]`` in pyproject.toml too, so ``uv lock`` is given the index."""
    directory.mkdir(parents=True)
    listed = ", ".join(json.dumps(d) for d in dependencies)
    (directory / "pyproject.toml").write_text(
        "[project]\n"
        f'name = "{name}"\n'
        'version = "0.1"\n'
        'requires-python = ">=3.9"\n'
        f"dependencies = [{listed}]\n"
    )
    return directory


def uv(project: Path, *args: str, env, uv_cache: Path, expect: int | None = 0):
    """A uv project command in ``project``, no configuration file of this machine read."""
    return run([UV, *args, "--no-config", "--cache-dir", uv_cache, "--directory", project],
               env=env, expect=expect)


def lock(project: Path, shop, *, env, uv_cache: Path) -> str:
    """``uv lock``; the lock's text (every package's source is localshop)."""
    uv(project, "lock", "--python", PYTHON, "--default-index", index_url(shop),
       env=env, uv_cache=uv_cache)
    text = (project / "uv.lock").read_text()
    assert f'source = {{ registry = "{index_url(shop)}" }}' in text, text
    return text


def audit(project: Path, osv: FakeOsv, *, env, uv_cache: Path) -> str:
    """``uv audit --frozen`` (the lock as it is, no resolution): what uv printed, unwrapped.
    Adverse statuses do not fail it (exit 0): uv fails an audit on vulnerabilities only."""
    result = uv(project, "audit", "--frozen", "--preview-features", "audit",
                "--service-url", osv.url, env=env, uv_cache=uv_cache)
    return words(result.output)


def audited(shop) -> list[str]:
    """The project pages ``uv audit`` asked localshop for, in order (its access log)."""
    return re.findall(r'"GET /repo/default/([^/ ]+)/" \d+ .*subcommand\\":\[\\"audit', shop.log())


# --- the test --------------------------------------------------------------------------------


def upstream_index() -> FakeIndex:
    index = FakeIndex()
    index.add("old-lib", make_wheel("old-lib", "1.0"))
    index.set_status("old-lib", "archived", "no longer maintained, use new-lib")
    index.add("calm-lib", make_wheel("calm-lib", "2.0"))  # no status: active
    return index


def publish_our_lib(shop, tmp_path: Path, env) -> None:
    files = write_dists(tmp_path / "dist", make_wheel("our-lib", "1.0"))
    uv_publish(shop, files, env=env)
    page = shop.project_json("our-lib")  # no status said: active (PEP 792)
    assert page.get("project-status", {"status": "active"}) == {"status": "active"}, page


def test_uv_audit_shows_the_pep_792_statuses_localshop_serves(
        tmp_path, make_mirror, env, uv_cache):
    with UpstreamServer(upstream_index()) as upstream, FakeOsv() as osv:
        shop = make_mirror(upstream)
        publish_our_lib(shop, tmp_path, env)
        calm = uv_project(tmp_path / "calm", "calm", "calm-lib", "our-lib")
        app = uv_project(tmp_path / "app", "app", "old-lib", "our-lib")
        lock(calm, shop, env=env, uv_cache=uv_cache)
        lock(app, shop, env=env, uv_cache=uv_cache)

        printed = audit(calm, osv, env=env, uv_cache=uv_cache)
        assert ("Found no known vulnerabilities and no adverse project statuses in 2 packages"
                in printed), printed
        assert {("calm-lib", "2.0"), ("our-lib", "1.0")} <= osv.asked()
        assert sorted(audited(shop)) == ["calm-lib", "our-lib"]  # it did ask localshop

        set_status(shop, "our-lib", "deprecated", "--reason", "use our-lib2")
        printed = audit(app, osv, env=env, uv_cache=uv_cache)
        assert "Found no known vulnerabilities and 2 adverse project statuses" in printed, printed
        assert "- old-lib is archived: no longer maintained, use new-lib" in printed, printed
        assert "- our-lib is deprecated: use our-lib2" in printed, printed

        set_status(shop, "our-lib", "quarantined", "--reason", "compromised release")
        printed = audit(app, osv, env=env, uv_cache=uv_cache)
        assert "- our-lib is quarantined: compromised release" in printed, printed
        assert "- old-lib is archived: no longer maintained, use new-lib" in printed, printed
        assert "deprecated" not in printed, printed
        # The other project's audit sees the quarantine too: same index, same project.
        printed = audit(calm, osv, env=env, uv_cache=uv_cache)
        assert "1 adverse project status in 2 packages" in printed, printed
        assert "- our-lib is quarantined: compromised release" in printed, printed
        shop.stop()
