"""The worker of ``benchmarks/rules.py``: one checkout's code, measured on command.

Run as a script with ``PYTHONPATH`` set to the checkout to measure (never imported by the
checkout it measures: the other checkout may not have it). It reads one JSON command a line
on stdin and answers one JSON line on stdout (nothing else is written there):

    {"cmd": "setup", "files": 15000}                     -> the databases, built once
    {"cmd": "rules", "setting": "none|cooldown|blocks|osv"}   -> the rules, in both databases
    {"cmd": "render", "type": "json|html", "n": 3}        -> seconds of each fresh render
    {"cmd": "cached", "type": "json|html", "n": 5, "batch": 2000}   -> seconds per hit
    {"cmd": "request", "path": "page|file", "n": 5, "batch": 200}   -> seconds per request
    {"cmd": "profile", "type": "json", "limit": 18}       -> cProfile of one render, as text

The settings exist only in a checkout that has the rules (issue 17); an older one answers
"none" to every setting and ``{"unsupported": true}`` for the others.
"""
from __future__ import annotations

import base64
import cProfile
import datetime
import gc
import hashlib
import io
import json
import os
import pstats
import re
import shutil
import sys
import tempfile
import time

import transaction
import ZODB
from ZODB.FileStorage import FileStorage

import shop
from shop.model.bootstrap import bootstrap
from shop.model import names
from shop.model.listings import UpstreamListing
from shop.model.root import APP_ROOT_KEY
from shop.model.tree import Package
from shop.pages import simple
from shop.pages.cache import PageCache

BIG = "rules-big"
HOSTED = "demo"
MIN_AGE = datetime.timedelta(days=7)
BLOCKS = 50
OTHER_BLOCKS = 10_000  # setting "osv": blocks of as many other projects too
NOW = datetime.datetime.now(datetime.timezone.utc)
JSON_V1 = simple.JSON_V1
TYPES = {"json": JSON_V1, "html": simple.TEXT_HTML}

try:  # issue 17's rules: absent from a checkout before it
    from shop.model import offers as _offers
    HAS_RULES = hasattr(_offers, "Rules")
except ImportError:  # pragma: no cover
    HAS_RULES = False


def versions(files: int) -> list[str]:
    """``files // 2`` versions (a wheel and an sdist each), oldest first, as PEP 440 sorts."""
    count = files // 2
    return [f"{i // 100}.{(i // 10) % 10}.{i % 10}" for i in range(count)]


def upload_times(count: int) -> list[datetime.datetime]:
    """Oldest first: the first two thirds over three years up to 30 days ago, the newest
    third within the last 6 days (younger than the 7-day minimum age: held back)."""
    old = (count * 2 + 2) // 3
    times = []
    for i in range(count):
        if i < old:
            age = datetime.timedelta(days=30 + 1095 * (old - i) / old)
        else:
            age = datetime.timedelta(days=6 * (count - i) / (count - old + 1))
        times.append(NOW - age)
    return times


def entries(files: int) -> tuple[tuple, ...]:
    """Upstream's listing of ``files`` files as ``UpstreamListing`` keeps it (12-tuples:
    filename, url, release key, version, packagetype, sha256, size, upload time,
    requires-python, yanked, yanked reason, metadata sha256), in page order."""
    result = []
    module = BIG.replace("-", "_")
    vs = versions(files)
    times = upload_times(len(vs) * 2)
    for i, version in enumerate(vs):
        for j, (filename, kind) in enumerate((
                (f"{module}-{version}-py3-none-any.whl", "bdist_wheel"),
                (f"{module}-{version}.tar.gz", "sdist"))):
            digest = hashlib.sha256(filename.encode()).hexdigest()
            url = f"https://files.upstream.invalid/{digest[:2]}/{digest[2:4]}/{filename}"
            meta = hashlib.sha256(digest.encode()).hexdigest() if kind == "bdist_wheel" else None
            result.append((filename, url, names.version_key(version), version, kind, digest, 1000 + i,
                           times[2 * i + j], ">=3.8", i % 97 == 0,
                           "broken" if i % 97 == 0 else "", meta))
    return tuple(result)


class Worker:
    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="localshop-rules-")
        self.db = self.conn = self.app = self.auth = None
        self.paths: dict[str, str] = {}
        self.setting = "none"

    # --- the databases ------------------------------------------------------------------

    def setup(self, files: int) -> dict:
        """The big mirrored project in a FileStorage of its own, and the app for requests."""
        self.db = ZODB.DB(FileStorage(os.path.join(self.tmp, "Data.fs")))
        self.conn = self.db.open()
        with transaction.manager:
            root, _ = bootstrap(self.conn.root(), "https://upstream.invalid/simple/")
            repository = root.repositories["default"]
            package = repository.add(BIG, Package(BIG))
            package.listing = UpstreamListing(entries(files), token="bench")
        self._setup_app()
        return {"shop": os.path.dirname(shop.__file__), "rules": HAS_RULES,
                "files": len(self.package().listing.entries)}

    def _setup_app(self) -> None:
        import webtest

        from shop import main as make_app
        from tests.factories import make_wheel, upload_fields

        os.environ["LOCALSHOP_ADMIN_PASSWORD"] = "admin-secret"
        app_dir = os.path.join(self.tmp, "app")
        os.mkdir(app_dir)
        self.app = webtest.TestApp(make_app({}, **{
            "zodbconn.uri": f"file://{app_dir}/Data.fs?blobstorage_dir={app_dir}/blobs"
                            "&blobstorage_layout=bushy",
            "shop.upstream": "none", "shop.default.anonymous_read": "true",
            "shop.argon2_profile": "cheapest",
        }))
        self.auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-secret").decode()}
        wheel = make_wheel(HOSTED, "1.2")
        self.app.post("/simple/", upload_fields(wheel), headers=self.auth,
                      upload_files=[("content", wheel.filename, wheel.data)])
        self.paths = {"page": f"/simple/{HOSTED}/", "file": f"/simple/{HOSTED}/1.2/{wheel.filename}"}
        for path in self.paths.values():  # rendered and cached before timing
            self.app.get(path, headers=self.auth)

    def package(self) -> Package:
        return self.conn.root()[APP_ROOT_KEY].repositories["default"][BIG]

    def rules(self, setting: str) -> dict:
        """Apply a setting to both databases: no rules, a 7-day minimum age, or 50 blocks of
        the project (version specifiers; of the hosted one, none of its file) plus that
        minimum age, or those and blocks of 10,000 other projects ("osv"). Blocks are
        removed as an admin would: the block list's serial grows."""
        if not HAS_RULES:
            return {"unsupported": setting != "none"}
        from tests.functional.conftest import database_root

        with transaction.manager:
            package = self.package()
            self._apply(package.__parent__, BIG, versions(len(package.listing.entries)), setting)
        with database_root(self.app) as root:
            self._apply(root.repositories["default"], HOSTED,
                        [f"0.{i}.{j}" for i in range(50) for j in range(10)], setting)
        for path in self.paths.values():  # the app's pages rendered anew before timing
            self.app.get(path, headers=self.auth)
        self.setting = setting
        return {"setting": setting}

    @staticmethod
    def _apply(repository, project: str, vs: list[str], setting: str) -> None:
        blocklist = repository.__parent__.__parent__.blocklist
        repository.min_age = MIN_AGE if setting != "none" else None
        for block in list(blocklist):
            blocklist.remove(block.spec, block.repository)
        if setting not in ("blocks", "osv"):
            return
        if setting == "osv":  # as after an import of OSV advisories: other projects' blocks
            for i in range(OTHER_BLOCKS):
                blocklist.add(f"osv-bench-{i}==1.0", f"benchmark advisory {i}", source=f"osv:B-{i}")
        for i in range(BLOCKS):
            if i % 5 == 4:  # a range: a fifth of a minor series
                major, minor = vs[i * 7 % len(vs)].split(".")[:2]
                spec = f"{project}>={major}.{minor}.3,<{major}.{minor}.5"
            else:
                spec = f"{project}=={vs[i * 131 % len(vs)]}"
            blocklist.add(spec, f"benchmark block {i}")

    # --- the measurements --------------------------------------------------------------

    def render(self, kind: str, n: int) -> dict:
        """Seconds of each of ``n`` fresh renders of the big project's page (no page cache;
        the listing loaded in the connection, as after the first request)."""
        package = self.package()
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            page = simple._render_project(package, TYPES[kind])
            samples.append(time.perf_counter() - start)
        return {"samples": samples, "files": count_files(page.body, kind),
                "bytes": len(page.body)}

    def cached(self, kind: str, n: int, batch: int) -> dict:
        """Seconds per hit of the page cache (``simple.project_page``, the page rendered
        already), the mean of each of ``n`` batches of ``batch`` hits."""
        package = self.package()
        cache = PageCache(256 * 1024 * 1024)
        first = simple.project_page(package, TYPES[kind], cache)
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            for _ in range(batch):
                page = simple.project_page(package, TYPES[kind], cache)
            samples.append((time.perf_counter() - start) / batch)
        assert page is first, "the page was rendered again: not a cache hit"
        return {"samples": samples}

    def request(self, which: str, n: int, batch: int) -> dict:
        """Seconds per request through the app (WebTest, with credentials: the replay of
        anonymous pages does not answer), the mean of each of ``n`` batches."""
        path, samples = self.paths[which], []
        for _ in range(n):
            start = time.perf_counter()
            for _ in range(batch):
                response = self.app.get(path, headers=self.auth)
            samples.append((time.perf_counter() - start) / batch)
        assert response.status_int == 200, response.status
        return {"samples": samples}

    def profile(self, kind: str, limit: int) -> dict:
        profiler = cProfile.Profile()
        package = self.package()
        profiler.enable()
        simple._render_project(package, TYPES[kind])
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(limit)
        stats.sort_stats("cumulative").print_stats(limit)
        return {"text": re.sub(r"/\S*/(shop|packaging|site-packages)/", r"\1/", out.getvalue())}

    def handle(self, command: dict) -> dict:
        cmd = command["cmd"]
        gc.collect()  # every measurement starts from the same heap, whatever came before
        if cmd == "setup":
            return self.setup(command["files"])
        if cmd == "rules":
            return self.rules(command["setting"])
        if cmd == "render":
            return self.render(command["type"], command["n"])
        if cmd == "cached":
            return self.cached(command["type"], command["n"], command["batch"])
        if cmd == "request":
            return self.request(command["path"], command["n"], command["batch"])
        if cmd == "profile":
            return self.profile(command["type"], command.get("limit", 18))
        raise ValueError(f"unknown command {cmd!r}")


def count_files(body: bytes, kind: str) -> int:
    if kind == "json":
        return len(json.loads(body)["files"])
    return body.count(b"<a ")


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the code prints stays off the answers
    worker = Worker()
    for line in sys.stdin:
        try:
            answer = worker.handle(json.loads(line))
        except Exception as e:  # noqa: BLE001 (the parent says what failed)
            import traceback
            answer = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    if worker.db is not None:
        worker.db.close()
    shutil.rmtree(worker.tmp, ignore_errors=True)  # stdin closed: the run is over


if __name__ == "__main__":
    main()
