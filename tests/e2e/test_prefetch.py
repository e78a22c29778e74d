"""``localshop prefetch``: the cache prepared with a real pip run, then used with upstream gone.

The repository is private (no anonymous reads), so the command's own temporary credential
is what lets pip in; it must be gone afterwards.
"""
from __future__ import annotations

import json

import pytest

from tests.e2e.clients import LOCALSHOP, PYTHON, Result, run, words
from tests.e2e.projects import make_self_building_sdist
from tests.e2e.server import LocalshopServer
from tests.e2e.zeoserver import zeo_server
from tests.factories import make_wheel
from tests.storecheck import assert_consistent, opened_storage
from tests.upstream import FakeIndex, UpstreamServer

pytestmark = pytest.mark.e2e

PRIVATE = {"shop.default.anonymous_read": "false"}


@pytest.fixture
def upstream():
    """A loopback upstream with app-one (which needs dep-two), dep-two, and a project whose
    only wheel is for Windows' CPython 3.11."""
    index = FakeIndex.of(make_wheel("app-one", "1.0", requires_dist=("dep-two>=2",)),
                         make_wheel("dep-two", "2.0"),
                         make_wheel("win-only", "1.0", tag="cp311-cp311-win_amd64"),
                         make_wheel("mac-only", "1.0", tag="cp311-cp311-macosx_11_0_arm64"))
    with UpstreamServer(index) as server:
        yield server


@pytest.fixture
def shop(tmp_path, upstream):
    """A localshop mirroring ``upstream``, not started (prefetch needs the database free)."""
    server = LocalshopServer(tmp_path / "shop", settings={"shop.upstream": upstream.url, **PRIVATE})
    yield server
    server.stop()


def prefetch(shop: LocalshopServer, requirements, *options: str, expect: int | None = 0,
             tmpdir=None) -> Result:
    env = shop.process_env()
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return run([LOCALSHOP, "-c", shop.ini, "prefetch", "-r", requirements, *options],
               env=env, expect=expect, cwd=shop.base_dir)


def stored(shop: LocalshopServer) -> dict[str, int]:
    """{filename: size} of the files whose bytes the stopped server's database holds."""
    with opened_storage(shop.var_dir) as root:
        return {f.filename: f.blob_size for f in assert_consistent(root) if f.blob_sha256}


def credentials(shop: LocalshopServer) -> str:
    return run([LOCALSHOP, "-c", shop.ini, "credential", "list"], env=shop.process_env()).stdout


def audited(shop: LocalshopServer) -> list[tuple[str, str]]:
    """(kind, user) of the audit log's entries, oldest first."""
    out = run([LOCALSHOP, "-c", shop.ini, "audit", "--json"], env=shop.process_env()).stdout
    return [(e["kind"], e["user"]) for e in map(json.loads, out.splitlines())]


def install(shop: LocalshopServer, requirements, target, env):
    """A fresh ``pip install --target`` of the requirements from the running server, as admin."""
    index = f"http://admin:{shop.admin_password}@127.0.0.1:{shop.port}/repo/default/"
    run([PYTHON, "-m", "pip", "--isolated", "--disable-pip-version-check", "install",
         "--no-cache-dir", "-i", index, "-r", requirements, "--target", target], env=env)
    return target


def file_requests(upstream: UpstreamServer) -> dict[str, int]:
    """{path: GETs} of upstream's files (and their .metadata)."""
    return {path: n for path, n in upstream.counts().items() if path.startswith("/files/")}


def test_prefetch_stores_a_project_and_its_dependency_for_an_install_with_upstream_gone(
        tmp_path, shop, upstream, env):
    requirements = tmp_path / "req.txt"
    requirements.write_text("app-one\n")

    first = prefetch(shop, requirements)
    assert "fetched from upstream and stored: 2 files" in first.stdout, first
    assert "already stored:                   0 files" in first.stdout, first
    files = stored(shop)
    assert set(files) == {"app_one-1.0-py3-none-any.whl", "dep_two-2.0-py3-none-any.whl"}
    assert f"2 files, {sum(files.values()):,} bytes" in first.stdout
    fetched = file_requests(upstream)
    assert fetched == {f"/files/{name}{suffix}": 1 for name in files
                       for suffix in ("", ".metadata")}, fetched
    assert credentials(shop) == "", "the temporary credential was left behind"
    # ... and the audit log says who made it, and that it was deleted.
    assert [(kind, user.endswith("(command line)")) for kind, user in audited(shop)] == [
        ("credential-created", True), ("credential-deleted", True)]
    assert "****" in first.stdout and "@127.0.0.1" in first.stdout  # pip's lines, redacted

    second = prefetch(shop, requirements)
    assert "fetched from upstream and stored: 0 files" in second.stdout, second
    assert "already stored:                   2 files" in second.stdout, second
    assert file_requests(upstream) == fetched, upstream.counts()

    upstream.stop()
    shop.start()
    busy = prefetch(shop, requirements, expect=2)
    assert "Stop the server first" in busy.stderr and "--server" in busy.stderr, busy
    target = install(shop, requirements, tmp_path / "target", env)
    assert (target / "app_one" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    assert (target / "dep_two" / "__init__.py").read_text() == "VERSION = '2.0'\n"


def test_through_a_running_server_with_the_users_credentials(tmp_path, shop, upstream, env):
    requirements = tmp_path / "req.txt"
    requirements.write_text("app-one\n")
    shop.start()
    anonymous = prefetch(shop, requirements, "--server", shop.url, expect=1)
    assert "the requirement app-one" in anonymous.output, anonymous
    assert "--server's URL has no credentials" in words(anonymous.stderr), anonymous

    server = f"http://admin:{shop.admin_password}@127.0.0.1:{shop.port}"
    done = prefetch(shop, requirements, "--server", server)
    assert "fetched from upstream and stored: 2 files" in done.stdout, done
    assert shop.admin_password not in done.output
    again = prefetch(shop, requirements, "--server", server)
    assert "already stored:                   2 files" in again.stdout, again

    upstream.stop()
    target = install(shop, requirements, tmp_path / "target", env)
    assert sorted(p.name for p in target.glob("*.dist-info")) == [
        "app_one-1.0.dist-info", "dep_two-2.0.dist-info"]


def test_an_sdists_build_requirements_come_through_the_mirror_too(tmp_path, shop, upstream):
    upstream.index.add("from-source", make_self_building_sdist(
        "from-source", "1.0", build_requires=("build-helper",)))
    upstream.index.add("build-helper", make_wheel("build-helper", "1.0"))
    requirements = tmp_path / "req.txt"
    requirements.write_text("from-source\n")

    done = prefetch(shop, requirements)
    assert "fetched from upstream and stored: 1 file" in done.stdout, done  # what pip saved
    assert set(stored(shop)) == {"from_source-1.0.tar.gz", "build_helper-1.0-py3-none-any.whl"}


def test_python_version_and_platforms_are_passed_to_pip(tmp_path, shop):
    requirements = tmp_path / "req.txt"
    requirements.write_text("win-only\nmac-only\n")

    done = prefetch(shop, requirements, "--python-version", "3.11", "--platform", "win_amd64",
                    "--platform", "macosx_11_0_arm64")
    assert "fetched from upstream and stored: 2 files" in done.stdout, done
    assert set(stored(shop)) == {"win_only-1.0-cp311-cp311-win_amd64.whl",
                                 "mac_only-1.0-cp311-cp311-macosx_11_0_arm64.whl"}


def test_a_requirement_that_does_not_exist_fails_naming_it_and_leaves_nothing(tmp_path, shop):
    requirements = tmp_path / "req.txt"
    requirements.write_text("app-one\nno-such-project\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    failed = prefetch(shop, requirements, expect=1, tmpdir=scratch)
    assert "no-such-project" in failed.output, failed
    assert "pip could not resolve" in failed.stderr, failed
    assert list(scratch.iterdir()) == []
    assert credentials(shop) == ""


def test_what_cannot_start_says_why(tmp_path, shop):
    missing = prefetch(shop, tmp_path / "nothing.txt", expect=2)
    assert "Cannot read the requirements file" in missing.stderr, missing

    large = tmp_path / "large.txt"
    large.write_text("# padding\n" * 200_000)
    too_large = prefetch(shop, large, expect=2)
    assert "a requirements file of at most 1,048,576 bytes" in words(too_large.stderr)

    other = tmp_path / "other.txt"
    other.write_text("app-one\n--extra-index-url http://127.0.0.1:9/simple/\n")
    elsewhere = prefetch(shop, other, expect=2)
    assert "line 2: --extra-index-url would send pip past repository default" in words(
        elsewhere.stderr)
    direct = tmp_path / "direct.txt"
    direct.write_text("# a comment: http://127.0.0.1:9/ is fine here\n"
                      "dep-two @ http://127.0.0.1:9/dep_two-2.0-py3-none-any.whl\n")
    url = prefetch(shop, direct, expect=2)
    assert "line 2: a direct URL would send pip past repository default" in words(url.stderr)

    good = tmp_path / "good.txt"
    good.write_text("app-one\n")
    unknown = prefetch(shop, good, "--repository", "nonesuch", expect=2)
    assert "No repository 'nonesuch'" in unknown.stderr
    nobody = prefetch(shop, good, "--user", "nobody", expect=2)
    assert "No user 'nobody'" in nobody.stderr
    assert credentials(shop) == ""


def test_beside_a_zeo_server_prefetch_runs_while_the_server_serves(tmp_path, upstream, env):
    requirements = tmp_path / "req.txt"
    requirements.write_text("app-one\n")
    with zeo_server(tmp_path) as (address, _):
        uri = f"zeo://{address}?blob_dir={tmp_path / 'blobcache'}&shared_blob_dir=false"
        with LocalshopServer(tmp_path / "shop", settings={
                "zodbconn.uri": uri, "shop.upstream": upstream.url, "shop.secret": "s" * 32,
                **PRIVATE}) as shop:
            done = prefetch(shop, requirements)
            assert "fetched from upstream and stored: 2 files" in done.stdout, done
            upstream.stop()
            target = install(shop, requirements, tmp_path / "target", env)
            assert sorted(p.name for p in target.glob("*.dist-info")) == [
                "app_one-1.0.dist-info", "dep_two-2.0.dist-info"]
