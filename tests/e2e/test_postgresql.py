"""Several localshop processes on one PostgreSQL database (RelStorage), behind nginx's
``upstream`` block: the topology the README's "Several processes on PostgreSQL" shows, for real.

Every process is its own waitress on its own port with its own blob cache; the PostgreSQL
cluster is a throwaway one the session started (tests/e2e/postgres.py); clients are pip, uv,
twine and plain HTTP, against nginx or one process at a time.
"""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from shop.model.names import version_key
from shop.postgresql import CLAIM_WAIT
from tests.e2e.clients import make_venv, modern_pip_install, twine_upload, uv_install
from tests.e2e.postgres import PASSWORD
from tests.e2e.server import LocalshopServer, free_port
from tests.e2e.test_cli import localshop
from tests.e2e.nginx import NGINX, start_nginx, stop_nginx
from tests.factories import make_wheel, upload_fields
from tests.upstream import FakeIndex, Fault, UpstreamServer

pytestmark = pytest.mark.e2e

SECRET = "one-secret-for-every-process-of-this-cluster"

UPSTREAM_BLOCK = """\
    upstream localshop {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1g;
        location / {{
            proxy_pass http://localshop;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_next_upstream error timeout;
        }}
    }}"""


@dataclass
class Cluster:
    """localshop processes on one database, and nginx in front of them."""

    servers: list[LocalshopServer]
    url: str  # nginx's
    uri: str  # zodbconn.uri of the database
    nginx: subprocess.Popen | None = None
    admin_password: str = ""
    upstream: UpstreamServer | None = None
    extra: list = field(default_factory=list)

    def upload(self, server: LocalshopServer, dist, timeout: float = 60) -> requests.Response:
        return requests.post(server.url + "/repo/default/", data=upload_fields(dist),
                             files={"content": (dist.filename, dist.data)},
                             auth=("admin", self.admin_password), timeout=timeout)


def nginx_in_front(root: Path, servers: list[LocalshopServer]) -> tuple[subprocess.Popen, str]:
    """nginx with an ``upstream`` block of the processes, as the README shows."""
    port = free_port()
    return start_nginx(root, port, UPSTREAM_BLOCK.format(port=port, servers="\n".join(
        f"        server 127.0.0.1:{s.port} max_fails=1 fail_timeout=5s;" for s in servers)))


@pytest.fixture
def cluster(tmp_path, postgres):
    """``start(count, upstream=None, **settings)``: that many processes on a new database,
    behind nginx; stopped (and the database left to the session's cluster) afterwards."""
    made: list[Cluster] = []

    def start(count: int = 3, upstream: UpstreamServer | None = None,
              **settings: str) -> Cluster:
        database, role = postgres.database()
        uri = postgres.uri(database, role, tmp_path / "cache0")
        servers = []
        for i in range(count):
            servers.append(LocalshopServer(tmp_path / f"p{i}", settings={
                "zodbconn.uri": postgres.uri(database, role, tmp_path / f"cache{i}"),
                "shop.secret": SECRET,
                "shop.default.anonymous_read": "true",
                **({"shop.upstream": upstream.url} if upstream else {}),
                **settings,
            }))
            servers[-1].start()  # one after the other: the first makes the tree and 'admin'
        found = Cluster(servers, "", uri, admin_password=servers[0].admin_password,
                        upstream=upstream)
        made.append(found)
        if os.path.exists(NGINX):
            found.nginx, found.url = nginx_in_front(tmp_path / "nginx", servers)
        return found

    yield start
    for found in made:
        if found.nginx is not None:
            stop_nginx(found.nginx)
        for server in found.servers:
            server.stop()


def needs_nginx(found: Cluster) -> None:
    if found.nginx is None:
        pytest.skip("nginx is not installed (make test installs it when run as root)")


def replay_hits(server: LocalshopServer) -> float:
    """How many answers the process gave again before Pyramid (its /+metrics, as an admin)."""
    text = requests.get(server.url + "/+metrics", timeout=10).text
    found = re.search(r'^localshop_replay_total\{[^}]*outcome="hit"[^}]*\} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_an_upload_through_one_process_is_installable_through_every_other_at_once(
        cluster, tmp_path, env, uv_cache):
    found = cluster(3)
    writer, *readers = found.servers
    for reader in readers:  # each remembers "no such project" and keeps the index page
        assert requests.get(reader.url + "/simple/spread/", timeout=10).status_code == 404
        for _ in range(3):
            assert requests.get(reader.url + "/simple/", timeout=10).status_code == 200
    twine_upload([make_wheel("spread", "1.0").write(tmp_path)],
                 "--repository-url", writer.url + "/repo/default/",
                 "-u", "admin", "-p", found.admin_password, env=env)
    for reader in readers:  # the very next request of every other process sees it
        assert "spread" in requests.get(reader.url + "/simple/", timeout=10).text
        page = requests.get(reader.url + "/simple/spread/", timeout=10)
        assert page.status_code == 200 and "spread-1.0-py3-none-any.whl" in page.text
    # A page given again from memory (before Pyramid) changes as soon as another process
    # commits: PostgreSQL's notification reached every process.
    before = [replay_hits(server) for server in found.servers]
    for server in found.servers:
        for _ in range(3):
            assert "spread-1.0-" in requests.get(server.url + "/simple/spread/", timeout=10).text
    assert all(replay_hits(s) > b for s, b in zip(found.servers, before)), "pages are replayed"
    assert found.upload(writer, make_wheel("spread", "1.1")).status_code == 200
    # The process that committed sees its own commit at once, before PostgreSQL's notice.
    for reader in found.servers:
        assert "spread-1.1-py3-none-any.whl" in requests.get(
            reader.url + "/simple/spread/", timeout=10).text
    python = make_venv(tmp_path / "venv")
    modern_pip_install(python, readers[0].url + "/simple/", "spread==1.1", env=env)
    uv_install(python, readers[1].url + "/repo/default/", "spread==1.1", env=env,
               cache_dir=uv_cache, options=("--reinstall",))
    if found.nginx is not None:
        modern_pip_install(python, found.url + "/simple/", "spread==1.0", env=env)


def test_a_credential_disabled_or_a_user_deactivated_through_one_is_refused_by_every_other(
        cluster):
    found = cluster(3, **{"shop.default.anonymous_read": "false"})
    first, *others = found.servers
    localshop(first, "user", "add", "erin", "--password-stdin", input="erin-secret\n")
    localshop(first, "repository", "set", "default", "--role", "user:erin=reader")
    made = localshop(first, "credential", "create", "erin", "--json").stdout
    key, secret = re.search(r'"access_key": "(\w+)".*"secret_key": "(\w+)"', made, re.S).groups()
    for server in found.servers:
        for auth in ((key, secret), ("erin", "erin-secret")):
            assert requests.get(server.url + "/simple/", auth=auth, timeout=10).status_code == 200
    erin = browser_session(first, "erin", "erin-secret")  # her own credentials page
    changed = erin.post(first.url + "/+credentials", data={
        "action": "disable", "access_key": key, "csrf_token": csrf(erin, first, "/+credentials")},
        timeout=10)
    assert changed.status_code == 200 and "Disabled" in changed.text, changed.text[:500]
    for server in others:
        assert requests.get(server.url + "/simple/", auth=(key, secret), timeout=10).status_code == 401
        assert requests.get(server.url + "/simple/", auth=("erin", "erin-secret"),
                            timeout=10).status_code == 200
    admin = browser_session(first, "admin", found.admin_password)
    changed = admin.post(first.url + "/+users", data={
        "action": "active", "user": "erin", "active": "off",
        "csrf_token": csrf(admin, first, "/+users")}, timeout=10)
    assert changed.status_code == 200 and "Deactivated erin" in changed.text, changed.text[:500]
    for server in others:
        assert requests.get(server.url + "/simple/", auth=("erin", "erin-secret"),
                            timeout=10).status_code == 401


def browser_session(server: LocalshopServer, user: str, password: str) -> requests.Session:
    """A session logged in through the login form, as a browser would be."""
    session = requests.Session()
    r = session.post(server.url + "/+login", data={
        "username": user, "password": password, "came_from": "/",
        "csrf_token": csrf(session, server, "/+login")}, timeout=10)
    assert r.status_code == 200 and "Log out" in r.text, r.text[:500]
    return session


def csrf(session: requests.Session, server: LocalshopServer, path: str) -> str:
    page = session.get(server.url + path, timeout=10)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_32_parallel_uploads_spread_over_the_processes_all_land(cluster):
    found = cluster(3)
    dists = [make_wheel(f"many{i % 4}", f"1.{i}") for i in range(32)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(
            lambda pair: found.upload(found.servers[pair[0] % 3], pair[1], timeout=120),
            enumerate(dists)))
    assert [(a.status_code, a.reason) for a in answers] == [(200, "OK")] * 32
    for server in found.servers:
        listed = set()
        for n in range(4):
            listed |= set(server.project_files(f"many{n}"))
        assert listed == {d.filename for d in dists}
    log = "".join(s.log() for s in found.servers)
    assert "ConflictError" not in log.replace("ConflictError, retrying", "")


def mirrored(size: int = 2 * 1024 * 1024):
    wheel = make_wheel("fetched", "1.0", padding=size)
    index = FakeIndex()
    index.add("fetched", wheel)
    return wheel, index


def test_8_first_downloads_spread_over_the_processes_make_one_upstream_fetch(cluster):
    wheel, index = mirrored()
    with UpstreamServer(index) as upstream:
        # Slow enough that every process asks while the first is still fetching.
        upstream.faults["/files/" + wheel.filename] = Fault("slow", seconds=0.05)
        found = cluster(3, upstream)
        url = f"/repo/default/fetched/{version_key('1.0')}/{wheel.filename}"
        for server in found.servers:
            assert set(server.project_files("fetched")) == {wheel.filename}
        with ThreadPoolExecutor(8) as pool:
            bodies = list(pool.map(
                lambda i: requests.get(found.servers[i % 3].url + url, timeout=120),
                range(8)))
        assert [b.status_code for b in bodies] == [200] * 8
        assert {hashlib.sha256(b.content).hexdigest() for b in bodies} == {wheel.sha256}
        assert upstream.count("/files/" + wheel.filename) == 1
        for server in found.servers:  # stored once, served from the database everywhere
            assert requests.get(server.url + url, timeout=60).content == wheel.data
        assert upstream.count("/files/" + wheel.filename) == 1
        assert stored_copies(found, wheel) == 1


def stored_copies(found: Cluster, wheel) -> int:
    """How many blobs of the wheel's size the database holds (RelStorage keeps them there)."""
    import psycopg2

    dsn = found.uri.split("?")[0].replace("postgres://", "postgresql://")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT zoid FROM blob_chunk GROUP BY zoid"
                       " HAVING sum(length(lo_get(chunk))) = %s", (len(wheel.data),))
        return len(cursor.fetchall())


def kill(server: LocalshopServer) -> None:
    """SIGKILL: no clean-up of any kind in the process."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    server.stop()  # forgets the dead process


def test_a_process_killed_mid_download_leaves_no_claim_behind(cluster):
    wheel, index = mirrored(4 * 1024 * 1024)
    with UpstreamServer(index) as upstream:
        upstream.faults["/files/" + wheel.filename] = Fault("slow", seconds=0.2)  # ~3 s
        found = cluster(2, upstream)
        doomed, survivor = found.servers
        url = f"/repo/default/fetched/{version_key('1.0')}/{wheel.filename}"
        for server in found.servers:
            assert set(server.project_files("fetched")) == {wheel.filename}
        with requests.get(doomed.url + url, stream=True, timeout=60) as started:
            next(started.iter_content(1024))  # the doomed process is fetching it now
            kill(doomed)
        began = time.monotonic()
        served = requests.get(survivor.url + url, timeout=120)
        waited = time.monotonic() - began
        assert served.status_code == 200 and served.content == wheel.data
        # The survivor fetched it itself: the dead process's claim ended with its session
        # (it did not wait out the claim's limit).
        assert upstream.count("/files/" + wheel.filename) == 2
        assert waited < CLAIM_WAIT


def test_a_process_killed_while_the_others_serve_loses_nothing(cluster, tmp_path, env):
    found = cluster(3)
    needs_nginx(found)
    dists = [make_wheel("durable", f"1.{i}") for i in range(6)]
    for i, dist in enumerate(dists[:3]):
        assert found.upload(found.servers[i], dist).status_code == 200
    victim = found.servers[0]
    kill(victim)
    for dist in dists[3:]:  # through nginx: it sends them to the processes still running
        r = requests.post(found.url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", found.admin_password), timeout=60)
        assert r.status_code == 200, r.text
    for server in found.servers[1:]:
        assert set(server.project_files("durable")) == {d.filename for d in dists}
    python = make_venv(tmp_path / "venv")
    modern_pip_install(python, found.url + "/simple/", "durable==1.5", env=env)
    victim.start()  # and it comes back to the same database, with everything in it
    assert set(victim.project_files("durable")) == {d.filename for d in dists}
    localshop(found.servers[1], "check")


def test_a_file_storage_is_copied_to_postgresql_and_checks(tmp_path, postgres, env):
    embedded = LocalshopServer(tmp_path / "embedded", settings={"shop.secret": SECRET})
    embedded.start()
    dists = [make_wheel("moved", f"1.{i}", padding=256 * 1024) for i in range(3)]
    for dist in dists:
        r = requests.post(embedded.url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", embedded.admin_password), timeout=60)
        assert r.status_code == 200, r.text
    embedded.stop()
    database, role = postgres.database()
    target = postgres.uri(database, role, tmp_path / "copied-cache")
    copied = localshop(embedded, "copy", "--to", target)
    assert "Copied" in copied.stdout and "password" not in copied.stdout + copied.stderr
    moved = LocalshopServer(tmp_path / "moved", settings={
        "zodbconn.uri": postgres.uri(database, role, tmp_path / "moved-cache"),
        "shop.secret": SECRET})
    try:
        moved.start()
        localshop(moved, "check")
        localshop(moved, "pack")  # history-free: what no record reaches any more goes
        refused = localshop(moved, "backup", str(tmp_path / "backup"), expect=2)
        assert "pg_dump" in refused.stderr
        for dist in dists:
            r = requests.get(moved.url + f"/repo/default/moved/{version_key(dist.version)}/"
                             f"{dist.filename}", auth=("admin", embedded.admin_password), timeout=30)
            assert r.status_code == 200 and r.content == dist.data
    finally:
        moved.stop()


def test_production_ini_s_postgresql_line_works_once_the_dsn_is_filled_in(tmp_path, postgres):
    """The commented zodbconn.uri of production.ini, as shipped, with only the role's
    password, the server and the database filled in."""
    shipped = re.search(r"^# zodbconn\.uri = (postgres://\S+)$",
                        (Path(__file__).parents[2] / "production.ini").read_text(), re.M).group(1)
    database, role = postgres.database()
    here = tmp_path / "shipped"  # the ini's directory
    uri = (shipped.replace("localshop:PASSWORD@db.example.internal:5432/localshop",
                           f"{role}:{PASSWORD}@127.0.0.1:{postgres.port}/{database}")
           .replace("%(here)s", str(here)))
    assert uri != shipped and "PASSWORD@" not in uri
    server = LocalshopServer(here, settings={"zodbconn.uri": uri, "shop.secret": SECRET})
    try:
        server.start()
        dist = make_wheel("shipped", "1.0")
        r = requests.post(server.url + "/repo/default/", data=upload_fields(dist),
                          files={"content": (dist.filename, dist.data)},
                          auth=("admin", server.admin_password), timeout=60)
        assert r.status_code == 200, r.text
        assert (server.base_dir / "var" / "blobcache").is_dir()  # the local blob cache
        assert "Listening for the commits of every process" in server.log()
        health = requests.get(server.url + "/+health", timeout=10).json()
        assert health["storage"] == {"ok": True, "error": None, "commit_notices": "listening"}
        metrics = requests.get(server.url + "/+metrics", timeout=10).text
        assert re.search(r"^localshop_commit_notices_listening\{[^}]*\} 1\.0$", metrics, re.M)
    finally:
        server.stop()


def test_processes_started_at_once_on_a_new_database_all_start(tmp_path, postgres):
    """RelStorage makes its tables, and localshop its tree and 'admin', at the first start:
    processes started at the same moment race to, and every one of them must start."""
    for round_ in range(2):
        database, role = postgres.database()
        servers = [LocalshopServer(tmp_path / f"r{round_}p{i}", settings={
            "zodbconn.uri": postgres.uri(database, role, tmp_path / f"r{round_}cache{i}"),
            "shop.secret": SECRET}) for i in range(3)]
        try:
            with ThreadPoolExecutor(3) as pool:
                list(pool.map(lambda s: s.start(timeout=60), servers))
            made = [s for s in servers if "Created a new localshop database" in s.log()]
            assert len(made) == 1  # one tree, made once
            password = made[0].admin_password
            for server in servers:
                assert requests.get(server.url + "/repo/default/", auth=("admin", password),
                                    timeout=10).status_code == 200
        finally:
            for server in servers:
                server.stop()
