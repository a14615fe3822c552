"""Pooled connections killed on the server side (KILL), and idle past wait_timeout."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import DatabaseError, connections, transaction

import mysqlpool
from tests.app.models import Item
from tests.chaos.conftest import APP, connection_id, hold_concurrently, record, request
from tests.support.threads import run_in_thread

pytestmark = pytest.mark.chaos

POOL_SIZE = 8


def run_requests(alias: str, threads: int, per_thread: int) -> tuple[list, list[int]]:
    """``threads`` threads each making ``per_thread`` requests; (errors, connection ids)."""
    errors: list[BaseException] = []
    ids: list[int] = []

    def one_request(number: int) -> None:
        Item.objects.using(alias).create(name="after", quantity=number)
        ids.append(connection_id(alias))

    def worker() -> None:
        for number in range(per_thread):
            try:
                request(lambda n=number: one_request(n))
            except Exception as exc:  # noqa: BLE001 - the test counts them
                errors.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(120)
    return errors, ids


@pytest.mark.parametrize("ping_after_idle", [0.5, None], ids=["ping-after-idle", "poll-only"])
def test_killed_connections_are_replaced_outside_a_transaction(
    server, pooled_alias, ping_after_idle
):
    # poll-only: no ping at checkout, the readable socket alone gives them away.
    alias = pooled_alias(pool={"pool_size": POOL_SIZE, "max_overflow": 0, "timeout": 30,
                               "ping_after_idle": ping_after_idle})
    pooled = set(hold_concurrently(alias, POOL_SIZE))
    assert server.connection_ids(APP.user) == pooled
    before = mysqlpool.stats()[alias]

    server.kill(pooled)
    server.wait_until_gone(pooled)
    errors, ids = run_requests(alias, threads=16, per_thread=5)

    assert errors == [], errors[:3]
    assert not set(ids) & pooled, "a killed connection was used again"
    after = mysqlpool.stats()[alias]
    replaced = after["invalidations"] - before["invalidations"]
    assert replaced >= POOL_SIZE
    assert after["connects"] - before["connects"] == replaced
    assert Item.objects.using(alias).filter(name="after").count() == 16 * 5
    record(f"kill ({ping_after_idle=}): {len(errors)} errors in {16 * 5} requests after "
           f"KILL of {len(pooled)} pooled connections; invalidations +{replaced}")


def test_a_killed_connection_inside_atomic_raises(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 2, "max_overflow": 0, "timeout": 30})
    connection = connections[alias]
    with pytest.raises(DatabaseError) as raised:
        with transaction.atomic(using=alias):
            Item.objects.using(alias).create(name="first half", quantity=1)
            killed = connection_id(alias)
            server.kill({killed})
            server.wait_until_gone({killed})
            Item.objects.using(alias).create(name="second half", quantity=2)
    # Django's OperationalError for every driver, and no silent retry: neither
    # half of the transaction reached the server.
    assert type(raised.value).__name__ == "OperationalError", repr(raised.value)
    assert server.query(
        "SELECT COUNT(*) FROM chaos.app_item WHERE name LIKE '%half'"
    ) == [(0,)]
    connection.close()
    # The next request gets a working connection.
    assert request(lambda: Item.objects.using(alias).create(name="next", quantity=3)).pk
    assert request(lambda: connection_id(alias)) != killed
    record(f"kill inside atomic(): {type(raised.value).__name__} raised, 0 rows written")


@pytest.mark.parametrize("ping_after_idle", [0.5, None], ids=["ping-after-idle", "poll-only"])
def test_connections_idle_past_wait_timeout_are_replaced(server, pooled_alias, ping_after_idle):
    # Sessions take wait_timeout from the global value when they connect.
    server.set_global("wait_timeout", 2)
    server.set_global("interactive_timeout", 2)
    alias = pooled_alias(pool={
        "pool_size": 4, "max_overflow": 0, "timeout": 30, "ping_after_idle": ping_after_idle,
    })
    pooled = set(hold_concurrently(alias, 4))
    # Replaced in the background (the housekeeping thread sees their sockets
    # closed) or at checkout: counted as invalidations either way.
    before = mysqlpool.stats()[alias]["invalidations"]
    idle_since = time.monotonic()
    server.wait_until_gone(pooled, timeout=30)  # the server closed them
    # Idle 3 s in all, a margin past wait_timeout, before the next requests.
    time.sleep(max(0.0, 3 - (time.monotonic() - idle_since)))  # deliberate: 3 s idle

    errors, ids = run_requests(alias, threads=8, per_thread=4)

    assert errors == [], errors[:3]
    assert not set(ids) & pooled
    replaced = mysqlpool.stats()[alias]["invalidations"] - before
    assert replaced >= len(pooled)
    record(f"idle past wait_timeout=2 ({ping_after_idle=}): {len(errors)} errors in "
           f"{8 * 4} requests; invalidations +{replaced}")


def test_a_failed_replacement_of_a_taken_over_connection_keeps_its_slot(server, pooled_alias):
    # One slot, held by the connection this thread's wrapper parked, killed
    # since. Another thread, which would otherwise wait in line, takes it
    # over, finds it dead, and cannot open a replacement (its login is
    # refused): its request fails. The slot must not leave with it: once
    # logins work again, the next request gets a connection instead of
    # waiting out the pool's timeout for a slot nobody holds.
    alias = pooled_alias(pool={"pool_size": 1, "max_overflow": 0, "timeout": 3})

    def exists() -> bool:
        return request(lambda: Item.objects.using(alias).exists())

    exists()
    parked = server.connection_ids(APP.user)
    assert len(parked) == 1
    server.kill(parked)
    server.wait_until_gone(parked)

    server.query(f"ALTER USER '{APP.user}'@'%' IDENTIFIED BY 'refused-for-a-moment'")
    try:
        with pytest.raises(DatabaseError, match="denied"):
            run_in_thread(exists)
    finally:
        server.query(f"ALTER USER '{APP.user}'@'%' IDENTIFIED BY '{APP.password}'")

    # A connection, not a PoolTimeout; the table is empty (the server fixture).
    assert run_in_thread(exists) is False
    figures = mysqlpool.stats()[alias]
    assert (figures["checked_out"], figures["waiting"]) == (0, 0), figures
