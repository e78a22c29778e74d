"""``localshop backup`` while 8 clients upload and download on a running server, and
``localshop restore`` into a new directory: a server started there serves every file with
its sha256, and its accounts, credentials and repositories are those backed up."""
from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from itertools import count
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.clients import make_venv, installed_module, modern_pip_install, words
from tests.e2e.server import LocalshopServer
from tests.e2e.test_cli import localshop
from tests.factories import make_wheel, upload_fields
from tests.storecheck import assert_consistent, assert_file_storage_sound, opened_storage

pytestmark = pytest.mark.e2e

UPLOADERS = DOWNLOADERS = 4


def upload(server: LocalshopServer, dist, repository: str = "default") -> int:
    response = requests.post(
        f"{server.url}/repo/{repository}/", data=upload_fields(dist),
        files={"content": (dist.filename, dist.data)},
        auth=("admin", server.admin_password), timeout=60)
    return response.status_code


@dataclass
class Clients:
    """Uploading and downloading threads, and the uploads the server acknowledged (in order)."""

    server: LocalshopServer
    downloads: list[str]
    acknowledged: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> "Clients":
        numbers = count()
        self.threads = [threading.Thread(target=self.uploader, args=(numbers,))
                        for _ in range(UPLOADERS)]
        self.threads += [threading.Thread(target=self.downloader) for _ in range(DOWNLOADERS)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def uploader(self, numbers) -> None:
        while not self.stop.is_set():
            number = next(numbers)
            dist = make_wheel(f"busy-{number % 6}", f"1.{number}", padding=5_000)
            status = upload(self.server, dist)
            if status == 200:
                self.acknowledged.append(dist.filename)
            elif status != 503:  # 503: lost every retry, stored nothing (said so)
                self.failures.append(f"upload {dist.filename}: {status}")

    def downloader(self) -> None:
        while not self.stop.is_set():
            for url in self.downloads:
                status = requests.get(url, timeout=60).status_code
                if status != 200:
                    self.failures.append(f"GET {url}: {status}")

    def wait_for(self, uploads: int, timeout: float = 60) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < uploads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acknowledged) >= uploads, self.failures
        return list(self.acknowledged)


def wrote(result) -> int:
    """The bytes a backup says it wrote."""
    return int(re.search(r"Wrote ([\d,]+) bytes", result.stdout).group(1).replace(",", ""))


def all_files(server: LocalshopServer, projects) -> dict[str, str]:
    return {name: sha for p in projects for name, sha in server.project_files(p).items()}


def file_urls(server: LocalshopServer, project: str, repository: str = "default") -> list[str]:
    base = f"{server.url}/repo/{repository}/{project}/"
    return [urljoin(base, f["url"]) for f in server.project_json(project, repository)["files"]]


def as_iso(backup_output: str) -> str:
    """The UTC time a backup names its Data.fs copy by (repozo's file name), as ISO 8601."""
    y, mo, d, h, mi, s = re.search(r"(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.fs",
                                   backup_output).groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


@dataclass
class Scenario:
    """Two backups taken while the clients wrote, and what was acknowledged around them."""

    original: LocalshopServer
    directory: object
    first: object
    second: object
    before_first: list[str]
    after_first: list[str]
    before_second: list[str]
    final: dict[str, str]
    credential: dict[str, str]


PROJECTS = ["seed-big", "seed-small", *(f"busy-{i}" for i in range(6))]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    base = tmp_path_factory.mktemp("backup")
    original = LocalshopServer(base / "original")
    localshop(original, "user", "add", "carol", "--password-stdin", input="carol-secret\n")
    localshop(original, "repository", "add", "team", "--title", "Team")
    credential = json.loads(localshop(original, "credential", "create", "admin", "--json").stdout)
    with original:
        assert upload(original, make_wheel("seed-big", "1.0", padding=4_000_000)) == 200
        assert upload(original, make_wheel("seed-small", "1.0")) == 200
        assert upload(original, make_wheel("teamtool", "1.0"), "team") == 200
        downloads = file_urls(original, "seed-big") + file_urls(original, "seed-small")
        with Clients(original, downloads) as clients:
            before_first = clients.wait_for(8)
            first = localshop(original, "backup", base / "bk")
            after_first = list(clients.acknowledged)
            before_second = clients.wait_for(len(after_first) + 8)
            second = localshop(original, "backup", base / "bk")
            clients.wait_for(len(before_second) + 4)
        assert not clients.failures, clients.failures[:5]
        final = all_files(original, PROJECTS)
    return Scenario(original, base / "bk", first, second, before_first, after_first,
                    before_second, final, credential)


@pytest.fixture(scope="module")
def restored(scenario, tmp_path_factory) -> LocalshopServer:
    """A new directory the latest backup was restored into, its server started."""
    copy = LocalshopServer(tmp_path_factory.mktemp("restored"),
                           admin_password=scenario.original.admin_password)
    result = localshop(copy, "restore", scenario.directory)
    assert "Restored" in result.stdout and str(copy.var_dir / "Data.fs") in result.stdout
    with copy:
        yield copy


def test_backups_while_clients_write_are_full_then_a_smaller_incremental(scenario):
    assert "Full backup of Data.fs" in scenario.first.stdout, scenario.first
    assert "Incremental backup of Data.fs" in scenario.second.stdout, scenario.second
    assert 0 < wrote(scenario.second) < wrote(scenario.first) / 2
    assert "Blob files: " in scenario.second.stdout
    assert scenario.first.stderr == scenario.second.stderr == ""  # no notice of a stale index


def test_the_restored_server_serves_every_backed_up_file_with_its_sha256(scenario, restored):
    files = all_files(restored, PROJECTS)
    # Everything acknowledged before the latest backup began is there; nothing else is
    # but what the original stored too, with the same bytes.
    assert set(scenario.before_second) <= set(files)
    assert all(scenario.final[name] == sha for name, sha in files.items())
    for project in PROJECTS:
        for url in file_urls(restored, project):
            body = requests.get(url, timeout=60).content
            assert hashlib.sha256(body).hexdigest() == files[url.rsplit("/", 1)[-1].split("#")[0]]


def test_restored_accounts_credentials_and_repositories_are_as_backed_up(scenario, restored,
                                                                        tmp_path, env):
    for listing in (["user", "list"], ["credential", "list"]):
        assert (localshop(restored, *listing).stdout
                == localshop(scenario.original, *listing).stdout)
    team = [line for line in localshop(restored, "repository", "list").stdout.splitlines()
            if line.startswith("team ")]
    assert team == [line for line in localshop(scenario.original, "repository", "list")
                    .stdout.splitlines() if line.startswith("team ")]
    # The admin's password uploads; the credential made before the backup installs.
    assert upload(restored, make_wheel("after-restore", "1.0")) == 200
    key, secret = scenario.credential["access_key"], scenario.credential["secret_key"]
    python = make_venv(tmp_path / "venv")
    modern_pip_install(python, f"http://{key}:{secret}@127.0.0.1:{restored.port}/repo/team/",
                       "teamtool", env=env)
    assert installed_module(python, "teamtool", env) == "1.0 wheel"


def test_the_restored_storage_is_sound(restored):
    restored.stop()
    try:
        with opened_storage(restored.var_dir) as root:
            assert_consistent(root)
        assert_file_storage_sound(restored.var_dir)
    finally:
        restored.start()


def test_restore_refuses_a_running_server_and_an_existing_database(scenario, restored):
    running = localshop(restored, "restore", scenario.directory, "--force", expect=2)
    assert "Stop the server first" in words(running.output)
    restored.stop()
    try:
        refused = localshop(restored, "restore", scenario.directory, expect=1)
        assert "pass --force to replace it" in words(refused.output)
        localshop(restored, "restore", scenario.directory, "--force")
    finally:
        restored.start()
    assert restored.project_files("after-restore") == {}  # replaced by the backup's state


def test_restore_with_a_date_brings_back_the_first_backups_state(scenario, tmp_path):
    earlier = LocalshopServer(tmp_path / "earlier", admin_password=scenario.original.admin_password)
    localshop(earlier, "restore", scenario.directory, "--date", as_iso(scenario.first.stdout))
    with earlier:
        files = set(all_files(earlier, PROJECTS))
    assert set(scenario.before_first) <= files
    later = set(scenario.before_second) - set(scenario.after_first)
    assert later and not files & later


def test_zeo_databases_are_left_to_the_zeo_server(tmp_path):
    zeo = LocalshopServer(tmp_path / "zeo", settings={"zodbconn.uri": "zeo://127.0.0.1:1"})
    result = localshop(zeo, "backup", tmp_path / "bk", expect=2)
    assert "back up on the ZEO server" in words(result.output)
