"""Where the tests' throwaway servers get their ports: outside the kernel's
range for outgoing connections, so that no client socket takes one first."""

from __future__ import annotations

import socket

import pytest

from tests.support.net import ephemeral_range, free_port, port_candidates


@pytest.mark.parametrize(("ephemeral", "expected"), [
    ((32768, 60999), range(10000, 32768)),  # Linux's default
    ((49152, 65535), range(10000, 49152)),  # IANA's, as on BSD and Windows
    ((10500, 64000), range(64001, 65536)),  # no room below: above
    ((10500, 65000), range(0)),  # no room either side: the kernel's choice
])
def test_port_candidates(ephemeral, expected):
    assert port_candidates(ephemeral) == expected


@pytest.mark.parametrize(("content", "expected"), [
    ("32768\t60999\n", (32768, 60999)),
    ("1024 65535", (1024, 65535)),
    ("", (32768, 60999)),  # unreadable: Linux's default
])
def test_ephemeral_range(tmp_path, content, expected):
    path = tmp_path / "ip_local_port_range"
    path.write_text(content)
    assert ephemeral_range(str(path)) == expected


def test_ephemeral_range_without_the_file(tmp_path):
    assert ephemeral_range(str(tmp_path / "missing")) == (32768, 60999)


def test_a_free_port_is_outside_the_ephemeral_range_and_can_be_listened_on():
    candidates = port_candidates(ephemeral_range())
    for _ in range(20):
        port = free_port()
        if candidates:
            assert port in candidates
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", port))
            listener.listen()


def test_free_port_never_gives_the_same_port_twice():
    # Ports are handed out long before their servers bind them (a Galera
    # cluster takes a dozen, then starts its nodes one by one). Drawn at
    # random from ~22,000 candidates, 1,000 draws would repeat one about
    # 20 times.
    ports = [free_port() for _ in range(1000)]
    assert len(set(ports)) == len(ports)
