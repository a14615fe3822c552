"""A primary and two replicas for the module (tests/replication/topology.py),
and pooled aliases over them for one test each."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.aliases import alias_maker
from tests.replication.topology import APP, DATABASE, Server, Topology
from tests.support.requirements import THROWAWAY_SERVER, require_binaries

CONNECT_TIMEOUT = 2


@pytest.fixture(scope="module")
def shared_topology() -> Iterator[Topology]:
    require_binaries(*THROWAWAY_SERVER)
    topology = Topology()
    try:
        topology.start()
        yield topology
    finally:
        topology.destroy()


@pytest.fixture
def topology(shared_topology: Topology, django_db_blocker) -> Iterator[Topology]:
    """The module's topology, every server up, replicas caught up and not
    delayed, an empty table."""
    for server in shared_topology.servers:
        server.server.start()
    for replica in (shared_topology.replica1, shared_topology.replica2):
        shared_topology.replicate(replica, shared_topology.primary)
    shared_topology.primary.query(f"DELETE FROM {DATABASE}.app_item")
    shared_topology.wait_caught_up()
    with django_db_blocker.unblock():
        yield shared_topology


@pytest.fixture
def fresh_topology(django_db_blocker) -> Iterator[Topology]:
    """A topology of its own, for a test that breaks it (kills the primary)."""
    require_binaries(*THROWAWAY_SERVER)
    topology = Topology()
    try:
        topology.start()
        with django_db_blocker.unblock():
            yield topology
    finally:
        topology.destroy()


def hosts(*servers: Server) -> str:
    return ",".join(f"127.0.0.1:{server.port}" for server in servers)


@pytest.fixture
def replica_alias() -> Iterator[Callable[..., str]]:
    """``replica_alias(name, host, **pool)``: a pooled alias over the topology."""
    with alias_maker(CONNECT_TIMEOUT, NAME=DATABASE, USER=APP.user,
                     PASSWORD=APP.password) as add:
        yield add
