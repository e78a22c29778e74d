"""A real ZEO server on loopback (``runzeo``), holding a FileStorage and its blobs."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from tests.e2e.server import free_port

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def zeo_server(directory: Path, *, keep_old: bool = True,
               port: int | None = None) -> Iterator[tuple[str, Path]]:
    """Run ``runzeo`` over ``directory``/Data.fs; yield its address and its blob directory.
    ``keep_old=False`` is ``pack-keep-old false`` (what the README says for packing); ``port``
    one of a server run before (its clients reconnect to it), else a free one."""
    port, blobs = port or free_port(), directory / "blobs"
    config = directory / "zeo.conf"
    config.write_text(f"<zeo>\n  address 127.0.0.1:{port}\n</zeo>\n<filestorage>\n"
                      f"  path {directory / 'Data.fs'}\n  blob-dir {blobs}\n"
                      + ("" if keep_old else "  pack-keep-old false\n") + "</filestorage>\n")
    with open(directory / "zeo.log", "wb") as log:
        process = subprocess.Popen([str(BIN / "runzeo"), "-C", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    (directory / "zeo.log").read_text())
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", blobs
    finally:
        process.terminate()
        # A loaded machine's ZEO server may take its time to close its clients and save its
        # index (seen: over 10 s); a test goes on only once it has.
        process.wait(60)
