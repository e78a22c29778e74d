"""The full Pyramid path of one request, in process: traversal, security policy, view.

Requests carry credentials, so the replay of anonymous pages does not answer them: this is
the cost of every request the replay cannot answer (an authenticated pip, a file, the JSON
API), without a socket or a load generator in the way. It runs the checkout it lies in, so
two checkouts compare with the same interpreter:

    .venv/bin/python benchmarks/request_path.py
    .venv/bin/python /path/to/other/checkout/benchmarks/request_path.py
"""
from __future__ import annotations

import base64
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's shop and tests

import webtest  # noqa: E402

from tests.factories import make_wheel, upload_fields  # noqa: E402

ROUNDS, REQUESTS = 5, 300


def main() -> None:
    os.environ["LOCALSHOP_ADMIN_PASSWORD"] = "admin-secret"
    from shop import main as make_app

    tmp = tempfile.mkdtemp(prefix="localshop-path-")
    app = webtest.TestApp(make_app({}, **{
        "zodbconn.uri": f"file://{tmp}/Data.fs?blobstorage_dir={tmp}/blobs&blobstorage_layout=bushy",
        "shop.upstream": "none", "shop.default.anonymous_read": "true",
        "shop.argon2_profile": "cheapest",
    }))
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin-secret").decode()}
    wheel = make_wheel("demo", "1.2")
    app.post("/simple/", upload_fields(wheel), headers=auth,
             upload_files=[("content", wheel.filename, wheel.data)])
    paths = ["/simple/demo/", f"/simple/demo/1.2/{wheel.filename}", "/pypi/demo/json"]
    best = {path: float("inf") for path in paths}
    for path in paths:
        app.get(path, headers=auth)  # rendered and cached before timing
    for _ in range(ROUNDS):
        for path in paths:
            start = time.perf_counter()
            for _ in range(REQUESTS):
                app.get(path, headers=auth)
            best[path] = min(best[path], (time.perf_counter() - start) / REQUESTS)
    for path in paths:
        print(f"{path:50} {best[path] * 1e6:7.0f} us per request (best of {ROUNDS} x {REQUESTS})")


if __name__ == "__main__":
    main()
