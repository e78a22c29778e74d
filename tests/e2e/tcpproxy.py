"""A TCP relay on loopback that tells a test when a client has sent a given request.

Clients (pip, uv) talk to the relay as if it were the server; it forwards bytes both ways
unchanged and watches what clients send, so a test can act at the moment a request is on
its way (e.g. release a lock the server's answer waits for).
"""
from __future__ import annotations

import socket
import threading

WATCHED = 64 * 1024  # bytes of a connection's recent client data searched for markers


class TcpRelay:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self._target = (host, target_port)
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        self._sent: list[bytes] = []  # request lines clients sent, in order
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_request(self, fragment: str, timeout: float) -> bool:
        """Wait until a request line containing ``fragment`` was passed on to the server."""
        needle = fragment.encode()
        with self._cond:
            return self._cond.wait_for(lambda: any(needle in line for line in self._sent), timeout)

    def requests(self) -> list[str]:
        with self._cond:
            return [line.decode("latin-1") for line in self._sent]

    def close(self) -> None:
        self._closed = True
        for sock in [self._listener, *self._sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> "TcpRelay":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._target, timeout=30)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, watch: bool) -> None:
        pending = b""
        try:
            while data := source.recv(65536):
                sink.sendall(data)  # first: a request is told of once the server has it
                if watch:
                    pending = (pending + data)[-WATCHED:]
                    *lines, pending = pending.split(b"\r\n")
                    found = [line for line in lines if line.startswith((b"GET ", b"HEAD "))]
                    if found:
                        with self._cond:
                            self._sent += found
                            self._cond.notify_all()
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
