"""Several hosts in HOST against a real three-node Galera cluster: load spreading,
node loss under load, a node rejoining, read-write targeting (a read-only node,
a node that is not ready), failover on a node that stops being ready (1047),
and the same node loss behind HAProxy."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import DatabaseError, connections

import mysqlpool
from tests.app.models import Item
from tests.cluster.conftest import DATABASE
from tests.cluster.galera import GaleraCluster
from tests.conftest import record, wait_for
from tests.support.holding import hold_concurrently
from tests.support.requests import request

pytestmark = pytest.mark.cluster

DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"


def node_name(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT @@wsrep_node_name")
        return cursor.fetchone()[0]


def nodes_of_held_connections(alias: str, count: int) -> list[str]:
    """The node each of ``count`` connections held at once is on."""
    return hold_concurrently(alias, count, measure=node_name)


def test_random_spreads_connections_and_disable_keeps_them_on_the_first(
        cluster: GaleraCluster, cluster_alias):
    spread = cluster_alias("spread", cluster.hosts(), pool_size=8, max_overflow=0,
                           load_balance_hosts="random")
    ordered = cluster_alias("ordered", cluster.hosts(), pool_size=8, max_overflow=0)
    random_nodes = Counter(nodes_of_held_connections(spread, 8))
    ordered_nodes = Counter(nodes_of_held_connections(ordered, 8))
    assert len(random_nodes) >= 2, random_nodes
    assert ordered_nodes == {"node1": 8}
    per_host = mysqlpool.stats()[spread]["hosts"]
    assert sorted(per_host.values(), reverse=True) == sorted(random_nodes.values(),
                                                             reverse=True) + [0] * (
        3 - len(random_nodes))
    record(f"galera random ({DRIVER}): 8 connections on {dict(sorted(random_nodes.items()))}; "
           f"disable: {dict(ordered_nodes)}")


#: Galera's "WSREP has not yet prepared node for application use".
NODE_NOT_READY = 1047


@contextlib.contextmanager
def not_ready(cluster: GaleraCluster, node, how: str) -> Iterator[None]:
    """``node`` answers its clients' statements that read or write tables with
    1047 meanwhile: cut off from the cluster (``gmcast.isolate``: a
    non-primary component, wsrep_ready OFF), or told to (``wsrep_reject_queries
    = ALL``, for maintenance). SHOW, SET and a SELECT without tables still work."""
    if how == "isolated":
        node.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")
        try:
            wait_for(lambda: node.status("wsrep_ready") == "OFF", 30,
                     f"node{node.number} still ready after being isolated")
            yield
        finally:
            node.query("SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'")
            cluster.wait_synced(cluster.nodes, len(cluster.nodes))
    else:
        node.query("SET GLOBAL wsrep_reject_queries = ALL")
        try:
            yield
        finally:
            node.query("SET GLOBAL wsrep_reject_queries = NONE")


NOT_READY = ["isolated", "rejecting-queries"]


def node_and_connection(alias: str) -> tuple[str, int]:
    """The node and its connection id (ids are per node)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT @@wsrep_node_name, CONNECTION_ID()")
        return tuple(cursor.fetchone())


def error_code(exc: BaseException) -> int | None:
    cause = exc.__cause__ or exc
    return cause.args[0] if cause.args and isinstance(cause.args[0], int) else None


@pytest.mark.parametrize("how", NOT_READY)
def test_1047_from_a_node_that_is_not_ready_replaces_every_older_connection(
        cluster: GaleraCluster, cluster_alias, how):
    """A write failing with 1047 on a node that stopped being ready closes its
    connection and replaces every connection the pool opened before (one
    failover): once the node is back, none of them serves again."""
    first = cluster.nodes[0]
    alias = cluster_alias("failing_over", cluster.hosts(), pool_size=4, max_overflow=0)
    before = set(hold_concurrently(alias, 4, measure=node_and_connection))
    assert {node for node, _ in before} == {"node1"}
    with not_ready(cluster, first, how), pytest.raises(DatabaseError) as raised:
        request(lambda: Item.objects.using(alias).create(name="not ready", quantity=1))
    assert error_code(raised.value) == NODE_NOT_READY, raised.value
    assert mysqlpool.stats()[alias]["failovers"] == 1
    after: list[tuple[str, int]] = []
    for _ in range(3):
        after += hold_concurrently(alias, 4, measure=node_and_connection)
    assert before & set(after) == set(), "a connection opened before the failover served again"
    request(lambda: Item.objects.using(alias).create(name="ready again", quantity=1))
    assert mysqlpool.stats()[alias]["failovers"] == 1


@pytest.mark.parametrize("how", NOT_READY)
def test_read_write_skips_a_node_that_is_not_ready(cluster: GaleraCluster, cluster_alias, how):
    """target_session_attrs = "read-write" skips a Galera node that is not
    ready (1047): new connections go to the next node, and writes work."""
    alias = cluster_alias("ready_only", cluster.hosts(), pool_size=4, max_overflow=0,
                          target_session_attrs="read-write")
    with not_ready(cluster, cluster.nodes[0], how):
        names = Counter(nodes_of_held_connections(alias, 4))
        assert names == {"node2": 4}
        request(lambda: Item.objects.using(alias).create(name="written", quantity=1))


def test_read_write_skips_a_read_only_node(cluster: GaleraCluster, cluster_alias):
    alias = cluster_alias("writable", cluster.hosts(), pool_size=4, max_overflow=0,
                          target_session_attrs="read-write")
    cluster.nodes[0].query("SET GLOBAL read_only = 1")
    try:
        names = Counter(nodes_of_held_connections(alias, 4))
    finally:
        cluster.nodes[0].query("SET GLOBAL read_only = 0")
    assert names == {"node2": 4}
    request(lambda: Item.objects.using(alias).create(name="written", quantity=1))


def insert_while_killing(alias: str, victim, seconds: float = 4.0,
                         kill_after: float = 1.5, threads: int = 16):
    """``threads`` threads insert rows through ``alias``; ``victim`` is killed
    (kill -9) ``kill_after`` seconds in. Returns the acknowledged names, the
    failures (time, error) and the time of the kill."""
    acknowledged: list[str] = []
    failures: list[tuple[float, str]] = []
    stop = time.monotonic() + seconds

    def work(number: int) -> None:
        count = 0
        while time.monotonic() < stop:
            name = f"t{number}-{count}"
            count += 1
            try:
                request(lambda name=name: Item.objects.using(alias).create(
                    name=name, quantity=number))
                acknowledged.append(name)
            except Exception as exc:  # noqa: BLE001 - counted
                failures.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(kill_after)  # deliberate: the load runs this long before the node goes
    killed_at = time.monotonic()
    victim.kill()
    for worker in workers:
        worker.join(120)
    return acknowledged, failures, killed_at


def stored_names(node) -> set[str]:
    return {row[0] for row in node.query(f"SELECT name FROM {DATABASE}.app_item")}


def node_loss_figures(acknowledged, failures, killed_at, survivor) -> tuple[int, int, int]:
    late = [error for at, error in failures if at > killed_at + 1.0]
    assert late == [], late[:3]
    stored = stored_names(survivor)
    lost = set(acknowledged) - stored
    assert lost == set(), f"{len(lost)} acknowledged inserts not on the surviving nodes"
    assert len(acknowledged) > 100
    return len(failures), len(acknowledged), len(stored)


def test_node_loss_under_load_then_rejoin(cluster: GaleraCluster, cluster_alias):
    first, second, third = cluster.nodes
    alias = cluster_alias("writes", cluster.hosts(), pool_size=16, max_overflow=0,
                          host_retry_after=1)
    assert Counter(nodes_of_held_connections(alias, 4)) == {"node1": 4}
    acknowledged, failures, killed_at = insert_while_killing(alias, first)
    failed, acked, stored = node_loss_figures(acknowledged, failures, killed_at, second)
    assert set(mysqlpool.stats()[alias]["hosts"].values()) != {0}
    # The survivors took the writes: the pool holds nothing on the dead node.
    assert mysqlpool.stats()[alias]["hosts"][f"127.0.0.1:{first.port}"] == 0
    record(f"galera node loss ({DRIVER}): {failed} failed requests, 0 after kill + 1 s; "
           f"{acked} acknowledged, {stored} stored on the survivors")

    # Rejoin: restarted (not a new cluster), synced, and used again by new
    # connections without restarting anything in the application.
    rejoin = cluster_alias("rejoin", cluster.hosts(), pool_size=6, max_overflow=0,
                           load_balance_hosts="random", target_session_attrs="read-write",
                           recycle=1, host_retry_after=1)
    assert "node1" not in nodes_of_held_connections(rejoin, 6)
    started = time.monotonic()
    first.start()
    cluster.wait_synced(cluster.nodes, 3)
    synced = time.monotonic()
    seen: Counter = Counter()

    def used_again() -> bool:
        seen.update(nodes_of_held_connections(rejoin, 6))
        return seen["node1"] > 0

    wait_for(used_again, 30, "the rejoined node was never used")
    record(f"galera rejoin ({DRIVER}): node1 synced {synced - started:.1f} s after its "
           f"restart, used again {time.monotonic() - synced:.1f} s later")
    assert third.synced(3)


def test_node_loss_behind_haproxy(haproxy, cluster_alias):
    alias = cluster_alias("proxied", f"127.0.0.1:{haproxy.port}", pool_size=16,
                          max_overflow=0)
    before = Counter(nodes_of_held_connections(alias, 6))
    assert len(before) >= 2, before  # HAProxy spreads them (round robin)
    first, second, _ = haproxy.nodes
    acknowledged, failures, killed_at = insert_while_killing(alias, first)
    failed, acked, stored = node_loss_figures(acknowledged, failures, killed_at, second)
    after = Counter(nodes_of_held_connections(alias, 6))
    assert "node1" not in after
    record(f"galera behind HAProxy ({DRIVER}): {failed} failed requests, 0 after kill + 1 s; "
           f"{acked} acknowledged, {stored} stored on the survivors")
