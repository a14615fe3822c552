"""A connection returned with a transaction open is rolled back before anyone
else can be affected: its row locks are released and its changes are gone.

mysqlpool sends ROLLBACK on return only when a transaction may be open (the
server's status flag with mysql-connector; with mysqlclient and PyMySQL what the
statements and Django's autocommit state say), so these tests check that it is
never skipped then.
"""

import pytest
from django.db import connections, transaction

import mysqlpool
from tests.app.models import Item
from tests.conftest import connection_id

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])


def begin_with_start_transaction(connection, cursor):
    cursor.execute("START TRANSACTION")


def begin_with_autocommit_off(connection, cursor):
    connection.set_autocommit(False)


def begin_with_begin(connection, cursor):
    cursor.execute("BEGIN")


@pytest.mark.parametrize(
    "begin", [begin_with_start_transaction, begin_with_begin, begin_with_autocommit_off]
)
def test_a_transaction_left_open_is_rolled_back_on_return(begin):
    item = Item.objects.create(name="locked", quantity=1)
    connection = connections["default"]
    with connection.cursor() as cursor:
        begin(connection, cursor)
        cursor.execute("SELECT quantity FROM app_item WHERE id = %s FOR UPDATE", [item.pk])
        cursor.execute("UPDATE app_item SET quantity = 99 WHERE id = %s", [item.pk])
        cursor.execute("INSERT INTO app_item (name, quantity, created) "
                       "VALUES ('uncommitted', 1, NOW())")
        cursor.execute("SELECT CONNECTION_ID()")
        (returned_id,) = cursor.fetchone()
    connection.close()  # back to the pool, transaction still open on the server
    assert mysqlpool.stats()["default"]["checked_out"] == 0

    # Another connection (another user's) gets the row lock at once and sees
    # no uncommitted data.
    with transaction.atomic(using="other"):
        row = Item.objects.using("other").select_for_update(nowait=True).get(pk=item.pk)
    assert row.quantity == 1
    assert not Item.objects.using("other").filter(name="uncommitted").exists()
    connections["other"].close()

    # The returned connection itself, rolled back in place (not replaced),
    # holds no transaction either.
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        assert cursor.fetchone()[0] == returned_id
        # (information_schema rather than MariaDB's @@in_transaction: MySQL has it too.)
        cursor.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                       "WHERE trx_mysql_thread_id = CONNECTION_ID()")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT quantity FROM app_item WHERE id = %s", [item.pk])
        assert cursor.fetchone()[0] == 1
    connection.close()


def test_a_lock_taken_in_an_atomic_block_is_released_when_the_request_ends():
    item = Item.objects.create(name="atomic", quantity=1)
    connection = connections["default"]
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=item.pk)
        Item.objects.filter(pk=item.pk).update(quantity=2)
    connection.close()
    with transaction.atomic(using="other"):
        row = Item.objects.using("other").select_for_update(nowait=True).get(pk=item.pk)
    assert row.quantity == 2


def test_a_transaction_that_only_read_is_rolled_back_on_return(admin):
    # Its only statement returns rows, whose closing packet PyMySQL does not
    # read the server status from. Left open, its row lock stays in the pool
    # (and the next checkout's SET autocommit=1 would commit it).
    item = Item.objects.create(name="locked")
    connection = connections["default"]
    with transaction.atomic():
        Item.objects.select_for_update().get(pk=item.pk)
        server_id = connection_id()
        connection.close()
    open_transactions = admin.query(
        "SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = %s",
        (server_id,),
    )
    assert open_transactions == []
