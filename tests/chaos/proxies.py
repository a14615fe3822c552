"""TCP relays in front of a server that misbehave the way proxies do.

``QueryRefusingRelay`` relays a connection untouched until the client sends a
query containing a given text; it then answers that query itself, with an
error packet (``refuse_with=(code, message)``: what ProxySQL answers with no
backend, 9001) or by cutting the connection (``refuse_with=None``: a lost
connection). The login and every other query go through.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

#: The command byte of COM_QUERY; a command packet starts with sequence id 0.
COM_QUERY = 0x03


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        try:
            chunk = sock.recv(count - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def error_packet(sequence: int, code: int, message: str) -> bytes:
    """A server error packet (protocol 4.1: marker, code, SQL state, message)."""
    payload = b"\xff" + struct.pack("<H", code) + b"#HY000" + message.encode()
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


class QueryRefusingRelay:
    """Listens on 127.0.0.1 and relays each connection to ``target``; see the
    module's docstring. ``refused`` counts the queries answered by the relay,
    ``open_clients`` the client connections not yet closed."""

    def __init__(self, target: tuple[str, int], marker: bytes,
                 refuse_with: tuple[int, str] | None) -> None:
        self.target = target
        self.marker = marker.lower()
        self.refuse_with = refuse_with
        self.accepted = self.refused = self.open_clients = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.open_clients += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=10)
        except OSError:
            self._closed(client)
            return
        server.settimeout(None)
        with self._lock:
            self._sockets += [client, server]
        threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
        try:
            while True:
                header = _read_exactly(client, 4)
                if header is None:
                    break
                length = int.from_bytes(header[:3], "little")
                payload = _read_exactly(client, length)
                if payload is None:
                    break
                if (header[3] == 0 and payload[:1] == bytes([COM_QUERY])
                        and self.marker in payload.lower()):
                    with self._lock:
                        self.refused += 1
                    if self.refuse_with is None:
                        break  # cut: the client sees a lost connection
                    client.sendall(error_packet(1, *self.refuse_with))
                    continue
                server.sendall(header + payload)
        except OSError:
            pass
        finally:
            _hang_up(server)
            self._closed(client)

    def _closed(self, client: socket.socket) -> None:
        _hang_up(client)
        with self._lock:
            self.open_clients -= 1

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _hang_up(sock)


def _hang_up(sock: socket.socket) -> None:
    """Close ``sock`` so that its peer sees it closed at once: a plain close()
    while another thread is blocked reading it leaves the connection open."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
