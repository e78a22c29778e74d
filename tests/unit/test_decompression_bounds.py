"""What a small archive may make localshop decompress (issue 11): a wheel's METADATA (uploaded
or mirrored) and the start of an sdist, each read with a byte bound."""
from __future__ import annotations

import gzip
import io
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shop.hosting.errors import UploadError
from shop.hosting.validation import check_contents
from shop.mirror.metadata import MetadataFetches
from shop.mirror.storing import DownloadFailed
from shop.mirror.upstream import Upstream
from shop.mirror.writer import Writer
from shop.model import names, wheels
from shop.model.tree import Package, Release, ReleaseFile
from tests.factories import bomb_wheel, make_sdist, make_wheel, pax_bomb_sdist

pytestmark = pytest.mark.fault
MiB = 1 << 20
WHEEL = "demo-1.0-py3-none-any.whl"


def test_a_mirrored_wheel_whose_metadata_is_over_the_limit_has_none_extracted(tmp_path, caplog):
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(bomb_wheel("demo", "1.0", metadata_size=wheels.MAX_METADATA + 1).data)
    tracemalloc.start()
    try:
        assert wheels.read_metadata(str(path)) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * wheels.MAX_METADATA
    assert "not extracting its METADATA" in caplog.text


def test_a_mirrored_wheels_metadata_within_the_limit_is_extracted(tmp_path):
    path = make_wheel("demo", "1.0").write(tmp_path)
    assert wheels.read_metadata(str(path)).startswith(b"Metadata-Version: 2.1\nName: demo\n")


def test_checking_an_sdist_decompresses_a_bounded_prefix(tmp_path):
    dist = pax_bomb_sdist("demo", "1.0", header_size=64 * MiB)
    path = dist.write(tmp_path)
    tracemalloc.start()
    try:
        with pytest.raises(UploadError, match="no tar header within its first 1048576") as refused:
            check_contents(str(path), names.parse_filename(dist.filename))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 413
    assert peak < 8 * MiB


def test_an_ordinary_sdist_still_passes_its_check(tmp_path):
    dist = make_sdist("demo", "1.0")
    assert check_contents(str(dist.write(tmp_path)), names.parse_filename(dist.filename)) is None


@pytest.fixture
def gzip_bomb_server():
    """A loopback server answering every GET with a gzip-encoded body of 256 MiB of zeros."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as out:
        chunk = bytes(MiB)
        for _ in range(256):
            out.write(chunk)
    body = buffer.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except ConnectionError:  # the client stopped reading: as it should
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_upstream_metadata_that_inflates_past_the_limit_is_refused_bounded(db, repository, tm,
                                                                           gzip_bomb_server):
    release = repository.add("demo", Package("demo")).add("1", Release("1.0"))
    file = release.add(WHEEL, ReleaseFile(WHEEL, packagetype="bdist_wheel", size=None, sha256=None))
    file.origin, file.upstream_url = "mirror", f"{gzip_bomb_server}/{WHEEL}"
    tm.commit()
    fetches = MetadataFetches(db, Upstream((5.0, 5.0), "localshop-test"), Writer(db))
    tracemalloc.start()
    try:
        with pytest.raises(DownloadFailed, match=f"larger than {wheels.MAX_METADATA} bytes"):
            fetches.fetch(file)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * wheels.MAX_METADATA
    assert file.core_metadata is None
