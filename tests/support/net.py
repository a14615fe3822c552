"""Addresses on 127.0.0.1 for tests: a port to start a server on, a port
nothing listens on, and a host that accepts connections and never answers.

No Django here: the server-free unit tests use it too.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, for a server or a
    listener the test starts there."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
