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
    DATABASE,
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
    time.sleep(max(0.0, 2 - (time.monotonic() - started)))
    seen = len(server.connection_ids(APP.user))
    assert seen == 3
    assert mysqlpool.stats()[alias]["idle"] == 3
    # And kept: a killed one is opened again without any request.
    victim = next(iter(server.connection_ids(APP.user)))
    server.kill({victim})
    wait_for(lambda: victim not in server.connection_ids(APP.user)
             and len(server.connection_ids(APP.user)) == 3, 10, "min_size not restored")
    record(f"min_size=3 ({DRIVER}): {seen} server connections 2 s after the first request")


def test_idle_connections_above_min_size_close_without_traffic(server, pooled_alias):
    alias = pooled_alias(pool={"pool_size": 8, "max_overflow": 0, "min_size": 1,
                               "max_idle": 2})
    burst = set(hold_concurrently(alias, 8))
    assert len(burst) == 8
    assert len(server.connection_ids(APP.user)) == 8
    time.sleep(6)  # no request at all meanwhile
    left = server.connection_ids(APP.user)
    assert len(left) <= 2
    assert len(left) >= 1, "min_size=1 keeps one"
    stats = mysqlpool.stats()[alias]
    assert stats["idle_closed"] >= 6
    record(f"max_idle=2, min_size=1 ({DRIVER}): burst to 8, {len(left)} server connections "
           f"6 s later (idle_closed={stats['idle_closed']})")


def test_connections_opened_together_are_replaced_at_different_times(server, pooled_alias):
    lifetime = 4.0
    alias = pooled_alias(pool={"pool_size": 8, "max_overflow": 0, "recycle": lifetime,
                               "max_idle": None})
    opened = time.monotonic()
    ids = set(hold_concurrently(alias, 8))
    gone_at: dict[int, float] = {}
    deadline = opened + lifetime + 3
    while len(gone_at) < len(ids) and time.monotonic() < deadline:
        present = server.connection_ids(APP.user)
        now = time.monotonic() - opened
        for connection_id_ in ids - present - set(gone_at):
            gone_at[connection_id_] = now
        time.sleep(0.02)
    assert len(gone_at) == 8, "every connection is closed after its lifetime, idle"
    times = sorted(gone_at.values())
    spread = times[-1] - times[0]
    # Each lifetime is shortened by up to 10 %: closed between 0.9 and 1.0 x
    # the lifetime after opening (plus a housekeeping round and the sampling).
    assert times[0] >= 0.9 * lifetime - 0.1
    assert times[-1] <= lifetime + 0.6
    assert spread > 0.02, "connections opened together were replaced together"
    assert mysqlpool.stats()[alias]["lifetime_closed"] == 8
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
    """A token service: the password the server accepts now, changed on demand."""

    def __init__(self, server, user) -> None:
        self.server = server
        self.user = user
        self.lock = threading.Lock()
        self.current = user.password
        self.calls = 0

    def __call__(self, settings_dict) -> str:
        assert settings_dict["USER"] == self.user.user  # the alias's settings
        with self.lock:
            self.calls += 1
            return self.current

    def rotate(self, number: int) -> None:
        with self.lock:
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
            time.sleep(0.01)

    request(lambda: connection_id(alias))
    pool = pools.pool_for(alias)
    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        for number in range(1, 6):  # every 1.5 s for 8 s
            time.sleep(1.5)
            provider.rotate(number)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        provider.restore()
    stats = mysqlpool.stats()[alias]
    assert errors == [], errors[:3]
    assert pools.pool_for(alias) is pool, "a rotated password made a new pool"
    assert stats["connects"] > 6, "new connections were made during the rotation"
    record(f"password rotation ({DRIVER}): 5 rotations in 8 s, {requests} requests, "
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
    connections.close_all()
    mysqlpool.close_pool()
    wait_for(lambda: not housekeeping.running(), 5, "housekeeping still running")
    assert not [t for t in threading.enumerate() if t.name == "mysqlpool-housekeeping"]
    assert DATABASE
