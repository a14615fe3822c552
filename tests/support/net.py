"""Addresses on 127.0.0.1 for tests: a port to start a server on, a port
nothing listens on, and a host that accepts connections and never answers.

No Django here: the server-free unit tests use it too.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator

#: Where Linux picks the local ports of outgoing connections unless told
#: otherwise (net.ipv4.ip_local_port_range).
_EPHEMERAL_DEFAULT = (32768, 60999)
#: The lowest port handed out: above the well-known and the usual services'.
_LOWEST = 10000
#: Every port free_port() has given in this process. A port is only checked
#: free, not held, until its server binds it, often many seconds later (a
#: Galera cluster picks a dozen ports, then starts its nodes one by one): a
#: port handed out twice would go to whichever server binds it first, and the
#: other would fail to start.
_handed_out: set[int] = set()


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The ports the kernel gives outgoing connections, lowest and highest."""
    try:
        with open(path) as file:
            low, high = (int(value) for value in file.read().split())
    except (OSError, ValueError):
        return _EPHEMERAL_DEFAULT
    return low, high


def port_candidates(ephemeral: tuple[int, int]) -> range:
    """Where free_port() looks: outside the kernel's range for outgoing
    connections, which, chosen there, a port may be given to a client socket
    (another test's connection, in parallel tox environments) before the
    server meant for it binds it."""
    low, high = ephemeral
    if low - _LOWEST >= 1000:
        return range(_LOWEST, low)
    if 65535 - high >= 1000:
        return range(high + 1, 65536)
    return range(0)  # no room outside: the kernel's choice


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, for a server or a
    listener the test starts there; never one this process was given before."""
    candidates = port_candidates(ephemeral_range())
    for _ in range(100 if candidates else 0):
        port = random.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: another
        _handed_out.add(port)
        return port
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: every connect is refused at once."""
    return free_port()


@contextlib.contextmanager
def silent_host() -> Iterator[int]:
    """A port on 127.0.0.1 whose kernel accepts TCP connections and then
    nothing ever answers: a frozen server, a black-holed proxy. Yields the port."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
