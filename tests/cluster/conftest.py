"""A three-node Galera cluster for the whole module (and HAProxy in front of it),
started by the tests in throwaway directories and stopped at the end.

The tests need the Debian packages mariadb-server, galera-4, rsync and
haproxy; without one, the tests that need it are skipped, naming it (see
tests/cluster/requirements.py and tests/support/requirements.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.aliases import alias_maker
from tests.cluster.galera import GaleraCluster, HAProxy
from tests.cluster.requirements import GALERA, HAPROXY, node_programs
from tests.support.requirements import require_binaries
from tests.users import User

DATABASE = "cluster"
APP = User("cluster_app", "cluster-App-Secret-77aa")
CONNECT_TIMEOUT = 2


def _prepare(cluster: GaleraCluster) -> None:
    node = cluster.nodes[0]
    node.query(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    node.query(f"CREATE USER IF NOT EXISTS '{APP.user}'@'%%' IDENTIFIED BY %s",
               (APP.password,))
    node.query(f"GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{APP.user}'@'%%'", ())
    node.query(
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.app_item ("
        " id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL,"
        " quantity INT NOT NULL, created DATETIME(6) NOT NULL, at TIME(6) NULL"
        ") ENGINE=InnoDB")


@pytest.fixture(scope="module")
def galera() -> Iterator[GaleraCluster]:
    provider, *_ = require_binaries(GALERA, *node_programs())
    cluster = GaleraCluster(provider)
    try:
        cluster.start()
        _prepare(cluster)
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def cluster(galera: GaleraCluster, django_db_blocker) -> Iterator[GaleraCluster]:
    """The cluster with every node up, synced and writable, and an empty table."""
    for node in galera.nodes:
        if node.pid is None:
            node.start()
    galera.wait_synced(galera.nodes, len(galera.nodes))
    for node in galera.nodes:
        node.query("SET GLOBAL read_only = 0")
    galera.nodes[0].query(f"DELETE FROM {DATABASE}.app_item")
    with django_db_blocker.unblock():
        yield galera


@pytest.fixture
def haproxy(request: pytest.FixtureRequest) -> Iterator[HAProxy]:
    """HAProxy in front of the cluster (``haproxy.nodes``), every node up."""
    # Before the cluster: without haproxy the test is skipped at once, not
    # after starting three nodes for nothing.
    (binary,) = require_binaries(HAPROXY)
    cluster: GaleraCluster = request.getfixturevalue("cluster")
    proxy = HAProxy(cluster.nodes, binary)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def cluster_alias() -> Iterator[Callable[..., str]]:
    """``cluster_alias(name, host, **pool)``: a pooled alias for one test."""
    with alias_maker(CONNECT_TIMEOUT, NAME=DATABASE, USER=APP.user,
                     PASSWORD=APP.password) as add:
        yield add
