"""The app behaves as on stock Django: ORM, transactions, locking."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection, connections, transaction

from tests.app.models import Item, Note
from tests.conftest import connection_id, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_crud():
    item = Item.objects.create(name="apple", quantity=3)
    Note.objects.create(item=item, text="red")
    assert Item.objects.get(pk=item.pk).name == "apple"
    assert Item.objects.filter(name="apple").update(quantity=5) == 1
    assert Item.objects.get(pk=item.pk).quantity == 5
    assert list(item.notes.values_list("text", flat=True)) == ["red"]
    item.delete()
    assert not Item.objects.exists() and not Note.objects.exists()


def test_update_counts_matched_rows_not_changed_rows():
    # Django relies on CLIENT.FOUND_ROWS, whatever the driver.
    Item.objects.create(name="same", quantity=1)
    assert Item.objects.filter(name="same").update(quantity=1) == 1


def test_time_field_round_trip():
    import datetime

    item = Item.objects.create(name="t", at=datetime.time(12, 34, 56, 789))
    assert Item.objects.get(pk=item.pk).at == datetime.time(12, 34, 56, 789)


def test_atomic_commit_and_rollback():
    with transaction.atomic():
        Item.objects.create(name="kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        Item.objects.create(name="gone")
        raise RuntimeError
    assert list(Item.objects.values_list("name", flat=True)) == ["kept"]


def test_savepoints():
    with transaction.atomic():
        Item.objects.create(name="outer")
        try:
            with transaction.atomic():
                Item.objects.create(name="inner")
                raise ValueError
        except ValueError:
            pass
        # Django 6.1 renamed savepoint() to savepoint_create().
        sid = getattr(transaction, "savepoint_create", transaction.savepoint)()
        Item.objects.create(name="rolled back")
        transaction.savepoint_rollback(sid)
    assert sorted(Item.objects.values_list("name", flat=True)) == ["outer"]


def test_integrity_error_is_djangos():
    item = Item.objects.create(name="x")
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Note.objects.create(item_id=item.pk + 1000, text="dangling")


def test_not_null_violation_is_integrity_error():
    # MySQL reports it as an OperationalError (1048); Django maps it.
    with pytest.raises(IntegrityError):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO app_item (name, quantity, created) VALUES (NULL, 1, NOW())")


def test_select_for_update_blocks_a_second_thread(admin):
    item = Item.objects.create(name="locked", quantity=0)
    locked = threading.Event()
    release = threading.Event()
    waiter_connection: list[int] = []
    order = []

    def holder():
        try:
            with transaction.atomic():
                Item.objects.select_for_update().get(pk=item.pk)
                locked.set()
                release.wait(10)
                order.append("holder commits")
                Item.objects.filter(pk=item.pk).update(quantity=1)
        finally:
            connections.close_all()

    def waiter():
        try:
            locked.wait(10)
            with transaction.atomic():
                waiter_connection.append(connection_id())
                row = Item.objects.select_for_update().get(pk=item.pk)
                order.append(f"waiter sees {row.quantity}")
        finally:
            connections.close_all()

    def waiting_for_the_lock() -> bool:
        return bool(waiter_connection) and admin.query(
            "SELECT 1 FROM information_schema.INNODB_TRX "
            "WHERE trx_mysql_thread_id = %s AND trx_state = 'LOCK WAIT'",
            (waiter_connection[0],)) != []

    with ThreadPoolExecutor(2) as executor:
        held, waited = executor.submit(holder), executor.submit(waiter)
        try:
            # The server itself says the waiter is blocked on the row lock.
            wait_for(waiting_for_the_lock, 10, "the second thread never waited for the lock")
            assert order == []
        finally:
            release.set()
        held.result(20)
        waited.result(20)
    assert order == ["holder commits", "waiter sees 1"]


def test_select_for_update_nowait_fails_fast_while_locked():
    from django.db import DatabaseError

    item = Item.objects.create(name="n")
    locked, done = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                Item.objects.select_for_update().get(pk=item.pk)
                locked.set()
                done.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        with pytest.raises(DatabaseError), transaction.atomic():
            Item.objects.select_for_update(nowait=True).get(pk=item.pk)
    finally:
        done.set()
        thread.join(10)


def test_bulk_create_and_aggregate():
    from django.db.models import Sum

    Item.objects.bulk_create([Item(name=f"n{i}", quantity=i) for i in range(100)])
    assert Item.objects.aggregate(total=Sum("quantity"))["total"] == sum(range(100))


def test_schema_editor_quotes_values_as_with_mysqlclient():
    # Django's schema editor puts these literals in DDL (defaults, comments).
    import datetime
    from decimal import Decimal

    expected = [
        ("¿Tú?", "'¿Tú?'"),
        ("it's", "'it\\'s'"),
        (b"bytes", b"'bytes'"),
        (42, "42"),
        (1.754, "1.754e0"),
        (Decimal("1.5"), "1.5"),
        (False, b"0"),
        (None, b"NULL"),
        (datetime.date(2020, 1, 2), b"'2020-01-02'"),
    ]
    with connection.schema_editor() as editor:
        assert [(value, editor.quote_value(value)) for value, _ in expected] == expected


def test_percent_signs_follow_mysqlclients_rule():
    # With parameters (even an empty list) a statement is a %-format string.
    with connection.cursor() as cursor:
        cursor.execute("SELECT '%%', %s, '%%s'", ["%s"])
        assert cursor.fetchone() == ("%", "%s", "%s")
        cursor.execute("SELECT '%%'", [])
        assert cursor.fetchone() == ("%",)
        cursor.execute("SELECT '%%'")
        assert cursor.fetchone() == ("%%",)


def test_uuid_parameters():
    import uuid

    value = uuid.UUID("031de305-a63e-4026-a783-3093e9c7bfb4")
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s", [value])
        assert cursor.fetchone() == (str(value),)


def test_error_classes_follow_the_error_code_as_with_mysqlclient():
    from django.db import OperationalError

    with connection.cursor() as cursor:
        with pytest.raises(OperationalError, match="Deadlock"):
            cursor.execute(
                "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock'"
            )
        # An OperationalError with this code, which Django makes an IntegrityError.
        with pytest.raises(IntegrityError, match="out of range"):
            cursor.execute("SELECT CAST(0 AS UNSIGNED) - 1")
