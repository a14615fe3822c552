"""Whether a server offers TLS, read from its greeting before anything is sent.

mysqlclient on MariaDB Connector/C sends the user name and password scramble
in plain text to a server without TLS in its REQUIRED mode. Where the chain is
verified, its VERIFY_CA refuses such a server itself (see tls_arguments.py);
for REQUIRED without verification mysqlpool first reads the server's greeting on
a connection of its own that sends nothing, and refuses when its capability
flags offer no TLS: the credentials stay out of a passive eavesdropper's reach.

Each look is a connection that ends before any login, which the server counts
against the client host's ``max_connect_errors`` (a successful login resets
the count; a server with ``skip_name_resolve`` keeps no count). Connects that
want the same address while a look is under way share its answer, so a burst
of new connections costs the count one, not one each: looking each on its own,
150 connects at once had up to 131 of them refused ("Host ... is blocked
because of many connection errors") at the default ``max_connect_errors``, 100.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Mapping
from typing import Any

#: The capability bit a server's greeting sets when it offers TLS.
CLIENT_SSL = 0x800
#: The greeting's protocol version (10, since MySQL 3.21); an error packet starts 0xff.
PROTOCOL_10 = 10


def capabilities(payload: bytes) -> int | None:
    """The lower capability flags of a protocol-10 greeting, or None when the
    payload is not one (an error packet, a truncated or garbled greeting)."""
    if not payload or payload[0] != PROTOCOL_10:
        return None
    try:
        # Server version (NUL-terminated), thread id (4), scramble (8), filler
        # (1), then the capability flags' lower two bytes.
        end = payload.index(b"\0", 1)
        return struct.unpack_from("<H", payload, end + 14)[0]
    except (ValueError, struct.error):
        return None


class _Look:
    """One look at an address's greeting, and the connects waiting for its answer."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.offers_tls: bool | None = None


_looks_lock = threading.Lock()
#: The looks under way, by address.
_looks: dict[tuple[Any, ...], _Look] = {}


def _forget_looks() -> None:
    # A fork's child has none of the threads whose looks were under way.
    global _looks_lock
    _looks_lock = threading.Lock()
    _looks.clear()


os.register_at_fork(after_in_child=_forget_looks)


def server_offers_tls(params: Mapping[str, Any]) -> bool | None:
    """Whether the server named by connect arguments offers TLS, from its
    greeting on a connection of its own that sends nothing (no credentials);
    the answer of a look already under way for the same address, if any.

    None when it cannot be told: the greeting did not arrive or made no sense
    (the real connection then fails or proceeds on its own), or the connection
    goes to MySQL's default Unix socket, whose path only the C library knows.
    """
    address = (params.get("unix_socket"), params.get("host"), params.get("port"))
    with _looks_lock:
        look = _looks.get(address)
        mine = look is None
        if look is None:
            look = _looks[address] = _Look()
    if not mine:
        look.done.wait()
        return look.offers_tls
    try:
        look.offers_tls = _read_greeting(params)
    finally:
        with _looks_lock:
            _looks.pop(address, None)
        look.done.set()
    return look.offers_tls


def _read_greeting(params: Mapping[str, Any]) -> bool | None:
    try:
        sock = _connect(params)
    except OSError:
        return None
    if sock is None:
        return None
    try:
        with sock:
            header = _receive(sock, 4)
            payload = _receive(sock, int.from_bytes(header[:3], "little"))
    except (OSError, ValueError):
        return None
    flags = capabilities(payload)
    return None if flags is None else bool(flags & CLIENT_SSL)


def _connect(params: Mapping[str, Any]) -> socket.socket | None:
    """A connection to the server the connect arguments name; None for MySQL's
    default Unix socket. Raises OSError, leaving no socket open."""
    timeout = params.get("connect_timeout") or 10
    host = params.get("host")
    unix_socket = params.get("unix_socket")
    if unix_socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(unix_socket)
        except BaseException:
            sock.close()  # else it is left to the garbage collector (ResourceWarning)
            raise
        return sock
    if host and host != "localhost":
        # create_connection closes its socket itself when connecting fails.
        return socket.create_connection((host, int(params.get("port") or 3306)), timeout)
    return None


def _receive(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ValueError("connection closed")
        data += chunk
    return data
