"""Read scaling on replicas, on a real primary and two replicas (GTID,
semi-synchronous): read-only and prefer-standby targeting, the
replication-lag bound, and a primary failover under writing threads."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

import mysqlpool
from tests.app.models import Item
from tests.conftest import record
from tests.replication.conftest import hosts
from tests.replication.topology import DATABASE, Topology
from tests.support.holding import hold_concurrently
from tests.support.requests import request
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


def port(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT @@port")
        return int(cursor.fetchone()[0])


def test_read_only_spreads_over_the_replicas_and_never_uses_the_primary(
        topology: Topology, replica_alias):
    alias = replica_alias(
        "replicas", hosts(*topology.servers), pool_size=8, max_overflow=0,
        load_balance_hosts="random", target_session_attrs="read-only")
    replicas = {topology.replica1.port, topology.replica2.port}
    # Each new connection picks one of the two replicas at random: all 8 of a
    # round land on the same one once in 128 rounds, so up to 5 fresh rounds.
    seen: set[int] = set()
    for _round in range(5):
        ports = hold_concurrently(alias, 8, measure=port)
        assert topology.primary.port not in ports
        figures = mysqlpool.stats()[alias]
        assert sum(figures["hosts"].values()) == 8
        assert figures["hosts"][f"127.0.0.1:{topology.primary.port}"] == 0
        seen.update(ports)
        if seen == replicas:
            break
        mysqlpool.close_pool(alias)
    assert seen == replicas, seen


def test_prefer_standby_takes_a_replica_and_the_primary_when_none_answers(
        topology: Topology, replica_alias):
    alias = replica_alias("prefer", hosts(*topology.servers), pool_size=2,
                          target_session_attrs="prefer-standby", host_retry_after=0.5)
    assert request(lambda: port(alias)) in {topology.replica1.port, topology.replica2.port}
    mysqlpool.close_pool(alias)
    topology.replica1.server.stop()
    topology.replica2.server.stop()
    assert request(lambda: port(alias)) == topology.primary.port
    # The replicas come back: new connections prefer them again.
    topology.replica1.server.start()
    topology.replica2.server.start()
    mysqlpool.close_pool(alias)
    wait_for(lambda: request(lambda: port(alias)) != topology.primary.port, 10,
             "prefer-standby went back to a replica")


def test_standby_refuses_the_primary(topology: Topology, replica_alias):
    alias = replica_alias("standby_only", hosts(topology.primary), pool_size=1,
                          target_session_attrs="standby")
    with pytest.raises(Exception) as raised:
        request(lambda: port(alias))
    assert "not a standby" in str(raised.value)


def test_a_lagging_replica_is_left_until_it_catches_up(topology: Topology, replica_alias):
    lagging, other = topology.replica1, topology.replica2
    alias = replica_alias(
        "lag_bounded", hosts(lagging, other), pool_size=4, max_overflow=0,
        load_balance_hosts="random", target_session_attrs="standby",
        # Connections live long enough to see the replica fall behind, and
        # are replaced soon enough to find it again once it caught up.
        max_replication_lag=2, host_retry_after=0.5, recycle=10)
    lagging_host = f"127.0.0.1:{lagging.port}"

    def both_used() -> bool:
        used = set(hold_concurrently(alias, 4, measure=port))
        # ... and the pool keeps a connection to the replica about to lag.
        return used == {lagging.port, other.port} and (
            mysqlpool.stats()[alias]["hosts"][lagging_host] > 0)

    wait_for(both_used, 20, "both replicas were used")

    stop = threading.Event()

    def primary_writes() -> None:
        number = 0
        while not stop.wait(0.1):
            number += 1
            topology.primary.query(
                f"INSERT INTO {DATABASE}.app_item (name, quantity, created) "
                "VALUES ('lag', %s, NOW(6))", (number,))

    writer = threading.Thread(target=primary_writes)
    writer.start()
    try:
        topology.delay(lagging, 60)
        wait_for(lambda: (topology.lag(lagging) or 0) > 2, 30, "the replica fell behind")
        behind_at = time.monotonic()
        # Within about a second the pool knows (housekeeping measures the
        # replicas it holds idle connections to; each new connection is
        # checked): from then on, no request reads from it.
        wait_for(lambda: set(hold_concurrently(alias, 4, measure=port)) == {other.port}, 10,
                 "requests stopped reading from the lagging replica")
        noticed = time.monotonic() - behind_at
        seen = [used for _ in range(10) for used in hold_concurrently(alias, 4, measure=port)]
        assert set(seen) == {other.port}, seen
        figures = mysqlpool.stats()[alias]
        replica = figures["replication"][lagging_host]
        assert replica["behind"] and replica["lag"] > 2, figures
        # Its connections went for lagging (closed idle, or at checkout), or
        # new ones skipped it: which, depends on whether its last connection
        # reached its lifetime first, on a loaded machine.
        assert figures["behind_closed"] + replica["skipped_behind"] > 0, figures
        assert noticed < 3.0, noticed

        topology.delay(lagging, 0)
        caught_up_at = time.monotonic()
        wait_for(lambda: lagging.port in hold_concurrently(alias, 4, measure=port), 45,
                 "the replica was used again once it caught up")
        back = time.monotonic() - caught_up_at
    finally:
        stop.set()
        writer.join(30)
    record(f"replica lag ({alias}): a replica 60 s behind was seen behind "
           f"{noticed:.1f} s after its lag passed 2 s and not read from; used again "
           f"{back:.1f} s after its delay was removed")


def test_primary_failover_under_16_writing_threads(fresh_topology: Topology, replica_alias):
    topology = fresh_topology
    alias = replica_alias("writes", hosts(*topology.servers), pool_size=16, max_overflow=0,
                          target_session_attrs="read-write", host_retry_after=0.2,
                          timeout=10)
    stop = threading.Event()
    lock = threading.Lock()
    acknowledged: list[str] = []
    outcomes: list[tuple[float, float, BaseException | None]] = []

    def writer(index: int) -> None:
        number = 0
        while not stop.is_set():
            number += 1
            name = f"w{index}-{number}"
            started = time.monotonic()
            error = None
            try:
                request(lambda n=name: Item.objects.using(alias).create(name=n, quantity=1))
            except Exception as exc:  # noqa: BLE001 - counted below
                error = exc
            with lock:
                outcomes.append((started, time.monotonic(), error))
                if error is None:
                    acknowledged.append(name)
            if error is not None:
                stop.wait(0.05)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(acknowledged) > 200, 30, "writes went through")
        killed_at = time.monotonic()
        topology.primary.kill()
        new_primary = topology.most_advanced([topology.replica1, topology.replica2])
        other = topology.replica2 if new_primary is topology.replica1 else topology.replica1
        promoted_at = topology.promote(new_primary)
        topology.replicate(other, new_primary)
        stop.wait(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    late = [(round(end - promoted_at, 2), repr(error)) for _, end, error in outcomes
            if error is not None and end > promoted_at + 1.5]
    failed = [error for *_, error in outcomes if error is not None]
    resumed = min((end for start, end, error in outcomes
                   if error is None and start > promoted_at), default=None)
    stored = {row[0] for row in new_primary.query(
        f"SELECT name FROM {DATABASE}.app_item")}
    missing = [name for name in acknowledged if name not in stored]
    record(
        f"replica failover ({alias}): 16 writers, primary killed, "
        f"{new_primary.name} promoted {promoted_at - killed_at:.2f} s later; "
        f"{len(failed)} failed requests, {len(late)} later than 1.5 s after the promotion; "
        f"first write after it {resumed - promoted_at:.2f} s after; "
        f"{len(acknowledged)} acknowledged, {len(stored)} stored, {len(missing)} missing"
        if resumed is not None else "no write after the promotion")
    assert resumed is not None, "no write succeeded after the promotion"
    assert late == [], late[:5]
    assert missing == [], missing[:5]
    assert resumed - promoted_at < 1.0
