"""What a request leaves in the session never reaches the next request on the
same pooled connection, and statements that leave nothing keep the connection.

These are the statement texts mysqlpool.statements once read wrongly: column
names holding "temporary" or "get_lock" (a reconnect or reset per request),
a SET hidden behind comments, LAST_INSERT_ID(n), MariaDB sequences, XA.
"""

from __future__ import annotations

import logging

import pytest
from django.db import connections, transaction
from django.db.models import F

import mysqlpool
from tests.app.models import Flag, Item
from tests.support.requests import request

pytestmark = pytest.mark.django_db(transaction=True)


def query(sql: str, params=None) -> list[tuple]:
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def raw(sql: str) -> list[tuple]:
    """A statement on the driver connection itself, which the pool doesn't see."""
    connection = connections["default"]
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def test_orm_queries_on_columns_named_like_markers_keep_the_connection(fresh_pools):
    def mark() -> int:
        # Survives only if the session is neither reset nor replaced.
        raw("SET @mysqlpool_untouched = 1")
        return query("SELECT CONNECTION_ID()")[0][0]

    first_id = request(mark)
    connects = mysqlpool.stats()["default"]["connects"]

    def orm(number: int) -> None:
        flag = Flag.objects.create(name=f"f{number}", is_temporary=number % 2 == 0)
        Flag.objects.filter(pk=flag.pk).update(get_lock_count=F("get_lock_count") + 1,
                                               next_value=number)
        # Each request deletes its flag: only this one can match.
        expected = 1 if flag.is_temporary else 0
        assert Flag.objects.filter(is_temporary=True, get_lock_count__gte=1).count() == expected
        assert Flag.objects.get(pk=flag.pk).get_lock_count == 1
        list(Flag.objects.values("is_temporary", "get_lock_count").order_by("-next_value")[:5])
        Flag.objects.filter(pk=flag.pk).delete()

    for number in range(30):
        request(lambda number=number: orm(number))

    assert mysqlpool.stats()["default"]["connects"] == connects
    assert request(lambda: (query("SELECT CONNECTION_ID()")[0][0],
                            raw("SELECT @mysqlpool_untouched")[0][0])) == (first_id, 1)


def test_a_set_behind_comments_does_not_reach_the_next_request():
    request(lambda: query("/**/SET SESSION sql_mode=(/* */SELECT 'ANSI_QUOTES')"))
    sql_mode = request(lambda: query("SELECT @@SESSION.sql_mode")[0][0])
    assert "ANSI_QUOTES" not in sql_mode


def test_last_insert_id_set_by_a_request_does_not_reach_the_next():
    assert request(lambda: query("SELECT LAST_INSERT_ID(42)")) == [(42,)]
    assert request(lambda: query("SELECT LAST_INSERT_ID()")[0][0]) != 42


@pytest.mark.parametrize("take", ["SELECT NEXTVAL(mysqlpool_seq)",
                                  "SELECT NEXT VALUE FOR mysqlpool_seq"])
def test_a_sequence_value_taken_by_a_request_does_not_reach_the_next(take):
    if not connections["default"].mysql_is_mariadb:
        pytest.skip("sequences are MariaDB's")
    request(lambda: query("CREATE OR REPLACE SEQUENCE mysqlpool_seq"))
    try:
        assert request(lambda: query(take)) == [(1,)]
        assert request(lambda: query("SELECT LASTVAL(mysqlpool_seq)")) == [(None,)]
    finally:
        request(lambda: query("DROP SEQUENCE IF EXISTS mysqlpool_seq"))


def test_an_xa_transaction_left_open_is_reset_or_replaced_not_rolled_back(caplog):
    caplog.set_level(logging.INFO, logger="mysqlpool")
    xid = "mysqlpool-test-xa"

    def leave_open() -> None:
        query("XA START %s", [xid])
        Item.objects.create(name="inside xa")

    request(leave_open)
    # A plain ROLLBACK fails in an XA state (XAER_RMFAIL): the pool must know
    # to reset or replace the connection, not find out from a failed ROLLBACK.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []

    def next_request() -> list[str]:
        with transaction.atomic():
            Item.objects.create(name="after xa")
        return [row[3] for row in query("XA RECOVER")]

    recovered = request(next_request)
    assert not any(xid in (data.decode() if isinstance(data, bytes) else data)
                   for data in recovered)
    assert list(Item.objects.values_list("name", flat=True)) == ["after xa"]
