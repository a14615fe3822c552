"""Reading a server's greeting (no server): whether it offers TLS is decided from
these bytes before any credential is sent, so a wrong reading must never say
"offers TLS" for a greeting that does not."""

from __future__ import annotations

import gc
import socket
import struct
import warnings

import pytest

from mysqlpool.drivers.greeting import CLIENT_SSL, capabilities, server_offers_tls


def greeting(version: bytes = b"10.11.19-MariaDB", flags: int = 0xF7FE,
             protocol: int = 10) -> bytes:
    """A protocol-10 greeting as MariaDB and MySQL send it."""
    return (bytes([protocol]) + version + b"\0" + struct.pack("<I", 42) + b"12345678"
            + b"\0" + struct.pack("<H", flags) + b"\x2d" + struct.pack("<H", 2)
            + struct.pack("<H", 0x81FF) + b"\x15" + b"\0" * 6 + b"\0" * 4
            + b"123456789012\0" + b"mysql_native_password\0")


@pytest.mark.parametrize("payload, expected", [
    (greeting(flags=0xFFFE), 0xFFFE),                       # MariaDB with TLS
    (greeting(flags=0xF7FE), 0xF7FE),                       # the same without TLS
    (greeting(b"8.4.3", flags=0xFFFF), 0xFFFF),             # MySQL 8.4
    (greeting(b"5.5.5-10.11.19-MariaDB", flags=0x0800), 0x0800),
    (greeting(b"", flags=0x0800), 0x0800),                  # an empty version
    (b"\xff\x15\x04#28000Access denied", None),             # an error packet
    (greeting(protocol=9), None),                           # an old protocol
    (b"", None),
    (b"\x0a10.11.19-MariaDB", None),                        # no end to the version
    (b"\x0a10.11\x00" + b"\x00" * 8, None),                 # cut before the flags
])
def test_capabilities(payload, expected):
    assert capabilities(payload) == expected


@pytest.mark.parametrize("flags, offers", [(0xFFFE, True), (0xF7FE, False), (0x0800, True),
                                           (0x0000, False)])
def test_tls_bit(flags, offers):
    assert bool(capabilities(greeting(flags=flags)) & CLIENT_SSL) is offers


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("where", ["unix socket", "tcp"])
def test_a_probe_that_cannot_connect_says_unknown_and_leaves_no_socket_open(where, tmp_path):
    # The probe's socket used to be left to the garbage collector when
    # connecting to a Unix socket failed (ResourceWarning: unclosed socket).
    params = ({"unix_socket": str(tmp_path / "no-server.sock")} if where == "unix socket"
              else {"host": "127.0.0.1", "port": unused_port()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert server_offers_tls({**params, "connect_timeout": 2}) is None
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
