"""Reading a server's greeting (no server): whether it offers TLS is decided from
these bytes before any credential is sent, so a wrong reading must never say
"offers TLS" for a greeting that does not."""

from __future__ import annotations

import contextlib
import gc
import socket
import struct
import threading
import warnings

import pytest

from mysqlpool.drivers.greeting import CLIENT_SSL, capabilities, server_offers_tls
from tests.support.net import closed_port
from tests.support.waiting import wait_for


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


@pytest.mark.parametrize("where", ["unix socket", "tcp"])
def test_a_probe_that_cannot_connect_says_unknown_and_leaves_no_socket_open(where, tmp_path):
    # The probe's socket used to be left to the garbage collector when
    # connecting to a Unix socket failed (ResourceWarning: unclosed socket).
    params = ({"unix_socket": str(tmp_path / "no-server.sock")} if where == "unix socket"
              else {"host": "127.0.0.1", "port": closed_port()})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert server_offers_tls({**params, "connect_timeout": 2}) is None
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]


class HeldGreetingServer:
    """Accepts connections on 127.0.0.1 and greets them (offering TLS) once
    released; counts the connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.release = threading.Event()
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self._clients.append(client)
            threading.Thread(target=self._greet, args=(client,), daemon=True).start()

    def _greet(self, client: socket.socket) -> None:
        packet = greeting(flags=0xFFFE)
        self.release.wait(10)
        with contextlib.suppress(OSError):
            client.sendall(len(packet).to_bytes(3, "little") + b"\0" + packet)

    def close(self) -> None:
        self.listener.close()
        for client in self._clients:
            client.close()


def test_connects_wanting_an_address_while_a_look_is_under_way_share_its_answer(monkeypatch):
    # Each look is a connection the server counts against the client host's
    # max_connect_errors: a burst of new connections looking each on its own
    # got the host blocked.
    waiting: list[str] = []
    event_wait = threading.Event.wait

    def recorded_wait(self, timeout=None):
        waiting.append(threading.current_thread().name)
        return event_wait(self, timeout)

    monkeypatch.setattr(threading.Event, "wait", recorded_wait)
    server = HeldGreetingServer()
    params = {"host": "127.0.0.1", "port": server.port, "connect_timeout": 5}
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(server_offers_tls(params)),
                                name=f"connect-{n}") for n in range(5)]
    try:
        threads[0].start()
        wait_for(lambda: server.accepted == 1, 10,  # its look is under way, held
                 "the first connect's look did not reach the server", interval=0.01)
        for thread in threads[1:]:
            thread.start()
        # Each of the others waits for that look's answer, or looks itself.
        others = {f"connect-{n}" for n in range(1, 5)}
        wait_for(lambda: len(others & set(waiting)) + server.accepted - 1 == 4, 10,
                 "the other connects neither wait for that look nor look themselves",
                 interval=0.01)
        server.release.set()
        for thread in threads:
            thread.join(10)
    finally:
        server.release.set()
        server.close()
    assert answers == [True] * 5
    assert server.accepted == 1, f"{server.accepted} looks at the same address at once"
