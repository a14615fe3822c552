"""Pool lifecycle against a throwaway server: warm start (min_size), idle shrink
(max_idle), lifetime with jitter (recycle), a bounded ping (ping_timeout),
rotating passwords (password_provider, PASSWORD edits), failover to a new
primary, and Django's PostgreSQL-pool names."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import DatabaseError, OperationalError, connections

import mysqlpool
from mysqlpool import pool as pools
from tests.app.models import Item
from tests.chaos.conftest import (
    APP,
    connection_id,
    hold_concurrently,
    record,
    request,
    wait_for,
)

pytestmark = pytest.mark.chaos

DRIVER = os.environ.get("MYSQLPOOL_DRIVER") or "detected driver"


def test_min_size_opens_connections_in_the_background(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 5, "max_overflow": 0, "min_size": 3})
    started = time.monotonic()
    request(lambda: connection_id(alias))  # the pool exists from its first use
    # Open on the server, and idle in the pool (a connection the server
    # already lists may still be on its way into the pool).
    wait_for(lambda: len(server.connection_ids(APP.user)) == 3
             and mysqlpool.stats()[alias]["idle"] == 3, 10,
             "min_size=3 did not open 3 idle connections")
    took = time.monotonic() - started
    # And kept: a killed one is opened again without any request.
    victim = next(iter(server.connection_ids(APP.user)))
    server.kill({victim})
    wait_for(lambda: victim not in server.connection_ids(APP.user)
             and len(server.connection_ids(APP.user)) == 3, 10, "min_size not restored")
    record(f"min_size=3 ({DRIVER}): 3 server connections {took:.2f} s after the first request")


def test_idle_connections_above_min_size_close_without_traffic(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 8, "max_overflow": 0, "min_size": 1,
                               "max_idle": 2})
    burst = set(hold_concurrently(alias, 8))
    idle_since = time.monotonic()
    assert len(burst) == 8
    assert len(server.connection_ids(APP.user)) == 8
    # No request at all meanwhile: down to min_size, one connection, kept.
    first_closed: list[float] = []

    def down_to_min_size() -> bool:
        left = len(server.connection_ids(APP.user))
        if left < 8 and not first_closed:
            first_closed.append(time.monotonic() - idle_since)
        stats = mysqlpool.stats()[alias]
        # Gone from the server, and counted (just after the close) by the pool.
        return left == 1 and (stats["idle_closed"], stats["idle"]) == (7, 1)

    wait_for(down_to_min_size, 15, "idle connections not closed down to min_size=1")
    shrunk = time.monotonic() - idle_since
    # None closed before it was idle for max_idle (2 s).
    assert first_closed[0] >= 2 - 0.1, first_closed
    record(f"max_idle=2, min_size=1 ({DRIVER}): burst to 8, the first closed after "
           f"{first_closed[0]:.2f} s idle, down to 1 after {shrunk:.2f} s")


def test_connections_opened_together_are_replaced_at_different_times(server, pooled_alias):
    lifetime = 4.0
    alias = pooled_alias(pool={"pool_size": 8, "max_overflow": 0, "recycle": lifetime,
                               "max_idle": None})
    opened = time.monotonic()
    ids = set(hold_concurrently(alias, 8))
    gone_at: dict[int, float] = {}

    def all_gone() -> bool:
        # When each was first seen gone from PROCESSLIST (polled every 20 ms).
        present = server.connection_ids(APP.user)
        now = time.monotonic() - opened
        for connection_id_ in ids - present - set(gone_at):
            gone_at[connection_id_] = now
        # Gone from the server, and counted (just after the close) by the pool.
        return (len(gone_at) == len(ids)
                and mysqlpool.stats()[alias]["lifetime_closed"] == len(ids))

    wait_for(all_gone, lifetime + 10,
             "connections past their lifetime, idle, were not closed")
    times = sorted(gone_at.values())
    spread = times[-1] - times[0]
    # Each lifetime is shortened by up to 10 %: none is closed before 0.9 x
    # the lifetime after opening (the whole burst was opened after `opened`).
    assert times[0] >= 0.9 * lifetime - 0.1
    assert spread > 0.02, "connections opened together were replaced together"
    record(f"recycle=4 ({DRIVER}): 8 connections opened together closed after "
           f"{times[0]:.2f}-{times[-1]:.2f} s (spread {spread:.2f} s)")


def test_a_ping_against_a_frozen_server_gives_up_after_ping_timeout(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 2, "max_overflow": 0, "ping_after_idle": 0,
                               "ping_timeout": 1.0})
    frozen_id = request(lambda: connection_id(alias))  # one idle connection, pinged next
    server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="did not answer a ping within 1.0 s"):
            connections[alias].ensure_connection()
        took = time.monotonic() - started
    finally:
        server.thaw()
    assert took <= 1.0 + 1.0
    # The connection it gave up on is gone; the next checkout gets a new one.
    assert request(lambda: connection_id(alias)) != frozen_id
    assert mysqlpool.stats()[alias]["ping_timeouts"] == 1
    record(f"ping_timeout=1 ({DRIVER}): checkout against a frozen server failed "
           f"after {took:.2f} s")


class RotatingPassword:
    """A token service: the password the server accepts now, changed on demand,
    either between two passwords issued or just after issuing one."""

    def __init__(self, server, user) -> None:
        self.server = server
        self.user = user
        self.lock = threading.Lock()
        self.current = user.password
        self.calls = 0
        #: The rotation to make just after the next password is issued.
        self.pending: int | None = None

    def __call__(self, settings_dict) -> str:
        assert settings_dict["USER"] == self.user.user  # the alias's settings
        with self.lock:
            self.calls += 1
            issued = self.current
            if self.pending is not None:
                # Issued just before the rotation: the login with it is
                # refused, and the pool must ask again.
                self._rotate(self.pending)
                self.pending = None
            return issued

    def rotate(self, number: int) -> None:
        with self.lock:
            self._rotate(number)

    def rotate_after_next_issue(self, number: int) -> None:
        with self.lock:
            self.pending = number

    def _rotate(self, number: int) -> None:
        new = f"{self.user.password}-{number}"
        self.server.query(f"ALTER USER '{self.user.user}'@'%%' IDENTIFIED BY %s", (new,))
        self.current = new

    def restore(self) -> None:
        self.server.query(f"ALTER USER '{self.user.user}'@'%%' IDENTIFIED BY %s",
                          (self.user.password,))


def test_rotating_passwords_cost_no_error_and_no_new_pool(server, pooled_alias):
    provider = RotatingPassword(server, APP)
    alias = pooled_alias(pool={"pool_size": 6, "max_overflow": 0, "recycle": 1,
                               "password_provider": provider, "timeout": 10})
    pool = None
    errors: list[BaseException] = []
    requests = 0
    stop = threading.Event()
    lock = threading.Lock()

    def worker() -> None:
        nonlocal requests
        while not stop.is_set():
            try:
                request(lambda: Item.objects.using(alias).count())
                with lock:
                    requests += 1
            except Exception as exc:  # noqa: BLE001 - counted
                errors.append(exc)
            time.sleep(0.01)  # deliberate: a steady load, not a spin

    def connects() -> int:
        return mysqlpool.stats()[alias]["connects"]

    def new_connections_since(count: int) -> None:
        # recycle=1: connections are replaced, each logging in anew.
        wait_for(lambda: connects() >= count + 2, 10, "no new connections were made")

    request(lambda: connection_id(alias))
    pool = pools.pool_for(alias)
    threads = [threading.Thread(target=worker) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for number in range(1, 7):
            new_connections_since(connects())
            if number % 2:
                provider.rotate(number)  # between two passwords issued
            else:
                # Just after one is issued: its login is certainly refused.
                provider.rotate_after_next_issue(number)
                wait_for(lambda: provider.pending is None, 10,
                         "no new connection asked for a password")
        new_connections_since(connects())  # logging in with the last password
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        provider.restore()
    took = time.monotonic() - started
    stats = mysqlpool.stats()[alias]
    assert errors == [], errors[:3]
    assert pools.pool_for(alias) is pool, "a rotated password made a new pool"
    # Each password issued just before its rotation was refused once and
    # asked for again (and so, perhaps, one issued to another connection then).
    assert stats["password_retries"] >= 3
    record(f"password rotation ({DRIVER}): 6 rotations in {took:.1f} s, {requests} requests, "
           f"{len(errors)} errors, {stats['connects']} connects, "
           f"{stats['password_retries']} retries, one pool")


def test_an_edited_password_keeps_the_pool_and_its_connections(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 4, "max_overflow": 0})
    held = set(hold_concurrently(alias, 3))
    pool = pools.pool_for(alias)
    settings_dict = connections[alias].settings_dict
    new = APP.password + "-edited"
    server.query(f"ALTER USER '{APP.user}'@'%%' IDENTIFIED BY %s", (new,))
    try:
        settings_dict["PASSWORD"] = new
        # The three open connections are still used; a fourth logs in anew.
        ids = set(hold_concurrently(alias, 4))
        assert held < ids
        assert pools.pool_for(alias) is pool
    finally:
        server.query(f"ALTER USER '{APP.user}'@'%%' IDENTIFIED BY %s", (APP.password,))
        settings_dict["PASSWORD"] = APP.password


def test_a_read_only_server_error_replaces_every_older_connection(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 4, "max_overflow": 0})
    before = set(hold_concurrently(alias, 4))
    server.query("SET GLOBAL read_only = 1")
    try:
        with pytest.raises(DatabaseError) as raised:
            request(lambda: Item.objects.using(alias).create(name="w", quantity=1))
        assert "read-only" in str(raised.value) or "read_only" in str(raised.value)
    finally:
        server.query("SET GLOBAL read_only = 0")
    # The switch is back (a new primary): nothing opened before is used again.
    after = []
    for _ in range(3):
        after += hold_concurrently(alias, 4)
    request(lambda: Item.objects.using(alias).create(name="w", quantity=2))
    reused = before & set(after)
    assert reused == set()
    assert mysqlpool.stats()[alias]["failovers"] == 1
    record(f"failover ({DRIVER}): write refused with read_only, then "
           f"{len(set(after))} connections, {len(reused)} reused from before")


def test_django_postgresql_pool_names_mean_the_same(server, pooled_alias):
    alias = pooled_alias(pool={"min_size": 1, "max_size": 3, "timeout": 2,
                               "max_lifetime": 600, "max_idle": 60})
    config = connections[alias].pool_config()
    assert (config.pool_size, config.max_overflow, config.min_size, config.lifetime,
            config.max_idle, config.timeout) == (3, 0, 1, 600, 60, 2)
    # max_size is the most connections per process: a fourth holder times out.
    ids = set(hold_concurrently(alias, 3))
    assert len(server.connection_ids(APP.user)) == len(ids) == 3
    barrier = threading.Barrier(4, timeout=30)
    outcomes: list[str] = []

    def hold() -> None:
        try:
            connection_id(alias)
            outcomes.append("connected")
            barrier.wait()
        except mysqlpool.PoolTimeout:
            outcomes.append("timeout")
            barrier.abort()
        except threading.BrokenBarrierError:
            pass
        finally:
            connections[alias].close()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["connected"] * 3 + ["timeout"]
    assert len(server.connection_ids(APP.user)) <= 3


def test_the_housekeeping_thread_stops_with_close_pool(server, pooled_alias):
    from mysqlpool.pool import housekeeping

    alias = pooled_alias(pool={"pool_size": 2, "max_overflow": 0})
    request(lambda: connection_id(alias))
    assert housekeeping.running()
    assert len(server.connection_ids(APP.user)) == 1
    connections.close_all()
    mysqlpool.close_pool()
    wait_for(lambda: not housekeeping.running(), 5, "housekeeping still running")
    assert not [t for t in threading.enumerate() if t.name == "mysqlpool-housekeeping"]
    # close_pool() closed the idle connection too (the server sees it go).
    wait_for(lambda: not server.connection_ids(APP.user), 10,
             "close_pool() left the pool's connection open")
