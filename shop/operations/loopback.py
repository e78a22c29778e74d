"""A WSGI application served by waitress on 127.0.0.1, on a port the system picks, in a thread
of this process: for a command that lets a real client (pip) talk to its own application."""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Iterator

from waitress import wasyncore
from waitress.server import create_server

log = logging.getLogger(__name__)

STOP_PATIENCE = 10.0  # seconds to wait for the serving thread to end


@contextlib.contextmanager
def serving(app, threads: int = 4) -> Iterator[int]:
    """Serve ``app`` on loopback while the block runs; yields the port.

    Only this machine can connect, and only for as long as the block runs.
    """
    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=_run, args=(server,), daemon=True, name="loopback-server")
    thread.start()
    try:
        yield server.effective_port
    finally:
        _stop(server)
        thread.join(STOP_PATIENCE)
        if thread.is_alive():
            log.warning("the loopback server did not stop within %.0f s", STOP_PATIENCE)


def _run(server) -> None:
    try:
        server.run()
    except (OSError, ValueError):  # the sockets closed under the loop by _stop: it is over
        pass


def _stop(server) -> None:
    """Close the listening socket and every connection, then the request threads (what
    waitress's own ``run`` does on Ctrl-C, from another thread)."""
    wasyncore.close_all(server._map)  # waitress's socket map: this is the one place it is read
    server.task_dispatcher.shutdown()
