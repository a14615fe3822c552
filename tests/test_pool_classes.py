"""The pool classes and limits the README names, serving real requests:
``pool_size = 0`` and ``max_overflow = -1`` (no limit), ``NullPool`` (a
connection per checkout), ``AssertionPool`` (one checkout at a time) and a
project's own pool class given by its dotted path."""

from __future__ import annotations

import pytest
from django.db import connections
from sqlalchemy.pool import QueuePool

import mysqlpool
from mysqlpool import pool as pools
from tests.aliases import temporary_alias
from tests.conftest import connection_id, wait_for
from tests.support.holding import held
from tests.support.requests import request
from tests.support.threads import run_in_thread
from tests.users import LIMITED

pytestmark = pytest.mark.usefixtures("database_access")


#: QueuePool's default limit: pool_size 5 + max_overflow 10.
DEFAULT_LIMIT = 15


class CountingQueuePool(QueuePool):
    """A project's own pool class (MYSQLPOOL_BACKEND = its dotted path): a
    QueuePool that counts the connections it hands out."""

    handed_out = 0

    def _do_get(self):
        record = super()._do_get()
        type(self).handed_out += 1
        return record


def entry(pool) -> dict:
    """A DATABASES entry for the run's LIMITED user, whose connections the
    tests count in PROCESSLIST."""
    default = connections["default"].settings_dict
    return {"HOST": default["HOST"], "PORT": default["PORT"], "NAME": default["NAME"],
            "USER": LIMITED.user, "PASSWORD": LIMITED.password, "OPTIONS": {"pool": pool}}


def connection_in_a_request(alias: str) -> int:
    """CONNECTION_ID() of ``alias`` in a request of its own."""
    return request(lambda: connection_id(alias))


@pytest.mark.parametrize(("pool", "kept"), [
    ({"pool_size": 0, "timeout": 5}, DEFAULT_LIMIT + 5),
    ({"pool_size": 2, "max_overflow": -1, "timeout": 5}, 2),
], ids=["pool_size-0", "max_overflow-minus-1"])
def test_no_limit_serves_more_checkouts_than_the_default_limit(admin, fresh_pools, pool, kept):
    """``pool_size: 0`` and ``max_overflow: -1`` mean no limit: more checkouts
    at once than the default limit (15) all get a connection of their own.
    With ``pool_size: 0`` the pool keeps every connection returned; with a
    pool_size and unlimited overflow, the ones past pool_size are closed."""
    count = DEFAULT_LIMIT + 5
    with temporary_alias("unlimited", **entry(pool)):
        # A limited pool would make the 16th holder wait, then time out (5 s).
        with held("unlimited", count) as ids:
            assert len(set(ids)) == count
            assert set(ids) <= admin.connection_ids(LIMITED.user)
            assert mysqlpool.stats()["unlimited"]["checked_out"] == count
        assert mysqlpool.stats()["unlimited"]["idle"] == kept
        wait_for(lambda: len(admin.connection_ids(LIMITED.user)) == kept, 10,
                 f"not {kept} server connections left after the burst")


def test_null_pool_opens_a_connection_per_checkout(admin, fresh_pools, settings):
    """``NullPool``: every checkout opens a new server connection, and its
    return closes it."""
    settings.MYSQLPOOL_BACKEND = "NullPool"
    with temporary_alias("null", **entry(True)):
        ids = [connection_in_a_request("null") for _ in range(3)]
        assert len(set(ids)) == 3
        stats = mysqlpool.stats()["null"]
        assert (stats["pool_class"], stats["connects"]) == ("NullPool", 3)
        wait_for(lambda: not admin.connection_ids(LIMITED.user) & set(ids), 10,
                 "a returned NullPool connection is still open on the server")


def test_assertion_pool_refuses_a_second_checkout_at_the_same_time(fresh_pools, settings):
    """``AssertionPool``: one checkout at a time; a second one while the first
    is held raises, and once the first is returned the same connection serves."""
    settings.MYSQLPOOL_BACKEND = "AssertionPool"
    with temporary_alias("asserting", **entry(True)) as connection:
        first = connection_id("asserting")  # held by this thread
        with pytest.raises(AssertionError, match="already checked out"):
            run_in_thread(connection_in_a_request, "asserting")
        connection.close()
        assert run_in_thread(connection_in_a_request, "asserting") == first
        assert mysqlpool.stats()["asserting"]["checked_out"] == 0


def test_a_pool_class_given_by_dotted_path_serves_requests(admin, fresh_pools, settings):
    """MYSQLPOOL_BACKEND = the dotted path of a QueuePool subclass: that class
    is the pool, with the arguments given (pool_size 2: two connections held at
    once, then reused)."""
    settings.MYSQLPOOL_BACKEND = f"{__name__}.CountingQueuePool"
    CountingQueuePool.handed_out = 0
    with temporary_alias("custom", **entry({"pool_size": 2, "max_overflow": 0})):
        with held("custom", 2) as ids:
            assert set(ids) == admin.connection_ids(LIMITED.user)
        again = [connection_in_a_request("custom") for _ in range(3)]
        assert set(again) <= set(ids)  # the pool's two connections, reused
        assert type(pools.pool_for("custom").sa_pool) is CountingQueuePool
        # The two held, and the main thread's first: its next requests take
        # back the connection parked on its wrapper, past the pool class.
        assert CountingQueuePool.handed_out == 3
        stats = mysqlpool.stats()["custom"]
        assert (stats["pool_class"], stats["connects"], stats["checkouts"]) == (
            "CountingQueuePool", 2, 5)

