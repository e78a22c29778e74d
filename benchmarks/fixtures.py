"""Distribution files for the benchmarks, and putting them on a server without a real client."""
from __future__ import annotations

import sys
from pathlib import Path

import requests
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.factories import Dist, make_wheel, upload_fields  # noqa: E402

from .server import Server  # noqa: E402

MB = 1000**2  # throughput and file sizes are in decimal megabytes, as disks and networks count


def big_wheel(size: int, name: str = "big-bench", version: str = "1.0") -> Dist:
    """A valid wheel of about ``size`` bytes, almost all of it an incompressible file."""
    overhead = len(make_wheel(name, version).data)
    return make_wheel(name, version, padding=max(size - overhead - 200, 0))


def canonical(name: str) -> str:
    """The PEP 503 form of a project name: its key in a simple index's URLs."""
    return canonicalize_name(name)


def upload(server: Server, dist: Dist, session: requests.Session | None = None) -> None:
    """POST ``dist`` to the legacy upload API with HTTP Basic auth, as twine would; raise on error."""
    http = session or requests.Session()
    r = http.post(
        server.upload_url,
        data=upload_fields(dist),
        files={"content": (dist.filename, dist.data, "application/octet-stream")},
        auth=(server.username, server.password),
        timeout=60,
    )
    if r.status_code != 200:
        raise RuntimeError(f"upload of {dist.filename} failed: {r.status_code} {r.text}")


def many_versions(name: str, count: int) -> list[Dist]:
    """``count`` small wheels of one project: versions 1.0, 1.1 ... 1.<count-1>."""
    return [make_wheel(name, f"1.{i}") for i in range(count)]
