"""What the pool tells: mysqlpool.stats(), manage.py mysqlpool_stats, and the log."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connections, transaction

import mysqlpool
from tests.aliases import temporary_alias
from tests.conftest import connection_id, wait_for
from tests.support.holding import held
from tests.support.requests import request
from tests.support.threads import run_in_thread, run_threads
from tests.users import OTHER

pytestmark = pytest.mark.usefixtures("database_access")


def entry(**pool) -> dict:
    return django_settings.SERVER.django(
        USER=OTHER.user, PASSWORD=OTHER.password, OPTIONS={"pool": pool})


def hold(alias: str, count: int, while_held) -> None:
    """``count`` threads hold a connection of ``alias``; call ``while_held()`` then."""
    with held(alias, count):
        while_held()


def test_stats_count_size_checkouts_idle_overflow_and_connects():
    with temporary_alias("counted", **entry(pool_size=3, max_overflow=2, timeout=30)):
        during = {}
        hold("counted", 4, lambda: during.update(mysqlpool.stats()["counted"]))
        after = mysqlpool.stats()["counted"]
    assert during["pool_size"] == 3 and during["max_overflow"] == 2
    assert during["checked_out"] == 4
    assert during["overflow"] == 1  # one connection beyond pool_size
    assert during["idle"] == 0
    assert after["checked_out"] == 0
    assert after["idle"] == 3  # the overflow connection was closed on return
    assert after["overflow"] == 0
    assert after["connects"] == 4 and after["checkouts"] == 4
    assert after["invalidations"] == after["timeouts"] == after["waits"] == 0


def test_an_idle_pool_has_no_negative_overflow():
    with temporary_alias("counted", **entry(pool_size=5)):
        connection_id("counted")
        connections["counted"].close()
        figures = mysqlpool.stats()["counted"]
    assert figures["idle"] == 1 and figures["overflow"] == 0


def test_waits_and_timeouts_are_counted():
    with temporary_alias("counted", **entry(pool_size=1, max_overflow=0, timeout=0.3)):

        def while_held() -> None:
            with pytest.raises(mysqlpool.PoolTimeout):
                connection_id("counted")

        hold("counted", 1, while_held)
        figures = mysqlpool.stats()["counted"]
    assert figures["timeouts"] == 1
    assert figures["waits"] == 1
    assert figures["wait_time"] >= 0.25


def test_the_stats_command_prints_the_figures_as_a_table():
    with temporary_alias("counted", **entry(pool_size=3, max_overflow=1)):
        hold("counted", 2, lambda: None)
        out = io.StringIO()
        call_command("mysqlpool_stats", stdout=out)
        figures = mysqlpool.stats()["counted"]
        as_json = io.StringIO()
        call_command("mysqlpool_stats", json=True, stdout=as_json)
    lines = out.getvalue().splitlines()
    header = lines[0].split()
    assert header[:3] == ["alias", "driver", "size"]
    for label in ("checked", "idle", "waiting", "connects", "invalidations", "timeouts",
                  "waits", "failovers"):
        assert label in header
    (row,) = [line.split() for line in lines[1:] if line.startswith("counted ")]
    assert row[:4] == ["counted", figures["driver"], "3", "1"]
    assert row[4:] == [str(figures[key]) for key in (
        "checked_out", "idle", "waiting", "connects", "invalidations", "timeouts",
        "waits", "wait_time", "idle_closed", "lifetime_closed", "ping_timeouts",
        "failovers")]
    assert json.loads(as_json.getvalue())["counted"] == figures


def test_the_stats_command_without_pools():
    mysqlpool.close_pool()
    out = io.StringIO()
    call_command("mysqlpool_stats", stdout=out)
    assert "No pools in this process yet" in out.getvalue()


# ----- the log --------------------------------------------------------------------------


def test_a_normal_request_cycle_logs_nothing_at_info(caplog):
    caplog.set_level(logging.INFO, logger="mysqlpool")
    caplog.set_level(logging.WARNING, logger="sqlalchemy")

    def view(number: int) -> None:
        with transaction.atomic(using="quiet"):
            with connections["quiet"].cursor() as cursor:
                cursor.execute("SELECT %s", [number])
        with connections["quiet"].cursor() as cursor:
            cursor.execute("SET @changed = 1")  # the pool resets this

    def requests() -> None:
        for number in range(10):
            request(lambda number=number: view(number))

    with temporary_alias("quiet", **entry(pool_size=2, max_overflow=0)):
        run_threads([requests] * 4)
        assert mysqlpool.stats()["quiet"]["checkouts"] >= 40
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_connect_recycle_invalidate_and_timeout_are_logged(caplog, admin):
    caplog.set_level(logging.DEBUG, logger="mysqlpool")
    with temporary_alias("logged", **entry(pool_size=1, max_overflow=0, recycle=1,
                                           timeout=0.2)):
        first = connection_id("logged")
        connections["logged"].close()
        # Past its lifetime while idle, the housekeeping thread closes it.
        wait_for(lambda: mysqlpool.stats()["logged"]["lifetime_closed"] == 1, 10,
                 "the connection was not closed at the end of its lifetime")
        second = connection_id("logged")
        connections["logged"].close()
        admin.query(f"KILL {int(second)}")
        admin.wait_until_gone({second})
        third = connection_id("logged")  # killed: replaced

        def while_held() -> None:
            with pytest.raises(mysqlpool.PoolTimeout):
                connection_id("logged")

        run_in_thread(while_held)
        connections["logged"].close()
    assert len({first, second, third}) == 3

    def logged(level: int, text: str) -> bool:
        return any(r.levelno == level and text in r.getMessage() and r.name == "mysqlpool"
                   for r in caplog.records)

    assert logged(logging.DEBUG, "New connection for 'logged'")
    # Replaced at checkout, or closed by the housekeeping thread while idle.
    assert logged(logging.DEBUG, "connection of 'logged': it reached its lifetime (recycle)")
    assert logged(logging.INFO, "Replacing a connection of 'logged'")
    # Said once, by the PoolTimeout: no warning besides, only the pool's state at DEBUG.
    assert logged(logging.DEBUG, "Pool for 'logged' exhausted")
    assert not any(r.levelno >= logging.WARNING for r in caplog.records), [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
