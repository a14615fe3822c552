"""Stand-ins on the wire between a driver and a server.

:class:`RecordingRelay` relays to a server and records what the client sends in
clear text: whether a connection started TLS, or sent its credentials (the
handshake response, which carries the user name and the password's scramble)
unencrypted. It parses only the first packet each way (the server's greeting,
the client's reply) and relays everything else untouched.

:class:`StalledServer` is a server that stops answering at a given point of the
connect, as a frozen one does.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass

#: The TLS capability bit of the greeting and of the client's reply.
CLIENT_SSL = 0x800


@dataclass(frozen=True)
class ClientReply:
    """What a client sent after the server's greeting, before any TLS."""

    #: The greeting it saw offered TLS.
    server_offered_tls: bool
    #: The client sent anything at all (False: it hung up after the greeting).
    sent: bool
    #: It asked for TLS (an SSL request packet: capabilities only, no user).
    ssl_request: bool
    #: The user name it sent in clear text; None when it sent none.
    clear_text_user: str | None


def _read_packet(sock: socket.socket) -> bytes | None:
    header = _read_exactly(sock, 4)
    if header is None:
        return None
    length = header[0] | header[1] << 8 | header[2] << 16
    body = _read_exactly(sock, length)
    return None if body is None else header + body


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


def _greeting_capabilities(packet: bytes) -> int:
    # Protocol 10 greeting: version byte, NUL-terminated server version,
    # thread id (4), scramble (8), filler (1), lower capability bytes (2).
    payload = packet[4:]
    if not payload or payload[0] != 10:
        return 0  # an error packet (too many connections, ...)
    end = payload.index(b"\0", 1)
    return struct.unpack_from("<H", payload, end + 1 + 4 + 8 + 1)[0]


def _parse_reply(packet: bytes | None, server_offered_tls: bool) -> ClientReply:
    if packet is None:
        return ClientReply(server_offered_tls, False, False, None)
    payload = packet[4:]
    capabilities = struct.unpack_from("<I", payload)[0] if len(payload) >= 4 else 0
    if capabilities & CLIENT_SSL and len(payload) == 32:
        return ClientReply(server_offered_tls, True, True, None)
    # Handshake response: capabilities (4), max packet (4), charset (1),
    # filler (23), then the user name, NUL-terminated.
    user = payload[32:].split(b"\0", 1)[0].decode("utf-8", "replace")
    return ClientReply(server_offered_tls, True, False, user)


class RecordingRelay:
    """Listens on 127.0.0.1; each connection is relayed to ``target``, or with
    ``first_targets`` the first connections to those, one each, in order, and
    the later ones to ``target`` (a server that changes between two connects).

    ``replies`` lists what each client sent after the greeting, in order.
    """

    def __init__(self, target_host: str, target_port: int,
                 first_targets: Sequence[tuple[str, int]] = ()) -> None:
        self.target = (target_host, target_port)
        self.first_targets = list(first_targets)
        self.replies: list[ClientReply] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._accepted = self._recorded = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                target = (self.first_targets[self._accepted]
                          if self._accepted < len(self.first_targets) else self.target)
                self._accepted += 1
            threading.Thread(target=self._relay, args=(client, target), daemon=True).start()

    def _relay(self, client: socket.socket, target: tuple[str, int]) -> None:
        try:
            server = socket.create_connection(target, timeout=10)
        except OSError:
            client.close()
            self._record(None)
            return
        with self._lock:
            self._sockets += [client, server]
        greeting = _read_packet(server)
        if greeting is None:
            client.close()
            server.close()
            self._record(None)
            return
        offered = bool(_greeting_capabilities(greeting) & CLIENT_SSL)
        client.sendall(greeting)
        reply = _read_packet(client)
        self._record(_parse_reply(reply, offered))
        if reply is None:
            client.close()
            server.close()
            return
        server.sendall(reply)
        threading.Thread(target=self._pipe, args=(server, client), daemon=True).start()
        self._pipe(client, server)

    def _record(self, reply: ClientReply | None) -> None:
        with self._changed:
            self._recorded = self._recorded + 1
            if reply is not None:
                self.replies.append(reply)
            self._changed.notify_all()

    def settled(self, timeout: float = 10) -> list[ClientReply]:
        """``replies``, once every connection accepted so far has been recorded."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._recorded >= self._accepted, timeout)
            return list(self.replies)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
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
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


def with_tls_offered(greeting: bytes) -> bytes:
    """A greeting packet (header included) with the TLS capability bit set."""
    end = greeting.index(b"\0", 5)  # the end of the server version
    flags_at = end + 1 + 4 + 8 + 1
    flags = struct.unpack_from("<H", greeting, flags_at)[0] | CLIENT_SSL
    return greeting[:flags_at] + struct.pack("<H", flags) + greeting[flags_at + 2:]


def read_greeting(host: str, port: int) -> bytes:
    """A server's greeting packet, header included, from a connection that then hangs up."""
    with socket.create_connection((host, port), timeout=10) as sock:
        packet = _read_packet(sock)
    if packet is None:
        raise ConnectionError(f"{host}:{port} sent no greeting")
    return packet


class StalledServer:
    """Listens on 127.0.0.1 and stops answering where a frozen server would.

    Without ``greeting`` it never accepts: connections complete in the kernel's
    backlog and nothing comes, as from a server whose process is frozen. With
    it, each connection gets that greeting and then nothing, whatever the
    client sends. :meth:`close` resets every connection, which ends any client
    still waiting.
    """

    def __init__(self, greeting: bytes | None = None) -> None:
        self.greeting = greeting
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        if greeting is not None:
            threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._held.append(client)
            with contextlib.suppress(OSError):
                client.sendall(self.greeting or b"")

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._held:
                with contextlib.suppress(OSError):
                    sock.close()
