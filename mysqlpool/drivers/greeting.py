"""Whether a server offers TLS, read from its greeting before anything is sent.

mysqlclient on MariaDB Connector/C sends the user name and password scramble
in plain text to a server without TLS in its REQUIRED mode. Where the chain is
verified, its VERIFY_CA refuses such a server itself (see tls_arguments.py);
for REQUIRED without verification mysqlpool first reads the server's greeting on
a connection of its own that sends nothing, and refuses when its capability
flags offer no TLS: the credentials stay out of a passive eavesdropper's reach.
"""

from __future__ import annotations

import socket
import struct
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


def server_offers_tls(params: Mapping[str, Any]) -> bool | None:
    """Whether the server named by connect arguments offers TLS, from its
    greeting on a connection of its own that sends nothing (no credentials).

    None when it cannot be told: the greeting did not arrive or made no sense
    (the real connection then fails or proceeds on its own), or the connection
    goes to MySQL's default Unix socket, whose path only the C library knows.
    """
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
