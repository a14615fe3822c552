"""What a pooled request sends to the server, counted by the server itself.

The session's ``Questions`` counter counts statements (ROLLBACK, SET, ...) and
``Com_admin_commands`` counts pings and resets, which ``Questions`` leaves out.
Their sum between two probes on the same physical connection is every request
the client sent in between, whatever the driver does under Django.
"""

import contextlib
import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import connections

from tests.app.models import Item

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = "SHOW SESSION STATUS WHERE Variable_name IN ('Questions', 'Com_admin_commands')"


@contextlib.contextmanager
def pool_arguments(**arguments):
    """Give the default alias a pool with these arguments for the test's duration."""
    connection = connections["default"]
    connection.close()
    saved = connection.settings_dict["OPTIONS"]
    pool = {**saved.get("pool", {}), **arguments}
    connection.settings_dict["OPTIONS"] = {**saved, "pool": pool}
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = saved


def probe(connection) -> tuple[int, int]:
    """(connection id, requests this session has sent so far), in its own checkout."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        connection_id = cursor.fetchone()[0]
        cursor.execute(COUNTERS)
        sent = sum(int(value) for _, value in cursor.fetchall())
    connection.close()
    return connection_id, sent


def probe_cost(connection) -> int:
    """What one probe itself adds to the counters (its two statements)."""
    first_id, first = probe(connection)
    second_id, second = probe(connection)
    assert first_id == second_id, "the pool handed out another connection"
    return second - first


def request(view) -> None:
    """What Django's handler does around a view."""
    request_started.send(sender=WSGIHandler, environ={})
    try:
        view()
    finally:
        request_finished.send(sender=WSGIHandler)


def test_a_pooled_request_sends_only_its_query():
    item = Item.objects.create(name="counted")
    # A long bypass window: this test is about what is sent, not about timing.
    with pool_arguments(ping_after_idle=60) as connection:
        cost = probe_cost(connection)
        first_id, before = probe(connection)
        for _ in range(3):
            request(lambda: Item.objects.get(pk=item.pk))
        last_id, after = probe(connection)
    assert first_id == last_id
    # Three requests of one query each; no ping, ROLLBACK, SET or version query.
    assert after - before == cost + 3


def test_a_connection_idle_longer_than_ping_after_idle_is_pinged():
    with pool_arguments(ping_after_idle=0.05) as connection:
        probe(connection)
        cost = probe_cost(connection)  # may include a ping if the machine is slow
        _, before = probe(connection)
        time.sleep(0.2)
        _, after = probe(connection)
    # The probe, plus exactly one ping at checkout.
    assert after - before >= cost + 1
    assert after - before <= cost + 2


def test_session_state_is_set_once_per_physical_connection():
    with pool_arguments(ping_after_idle=60) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.tx_isolation, CONNECTION_ID()")
            isolation, first_id = cursor.fetchone()
        connection.close()
        assert isolation == "READ-COMMITTED"
        cost = probe_cost(connection)
        _, before = probe(connection)
        request(lambda: Item.objects.exists())
        last_id, after = probe(connection)
    assert last_id == first_id
    assert after - before == cost + 1


def test_a_request_that_changes_the_session_gets_the_state_again():
    with pool_arguments(ping_after_idle=60) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.tx_isolation")
            assert cursor.fetchone()[0] == "READ-COMMITTED"
        connection.close()


def test_a_killed_connection_is_replaced_without_a_ping(admin):
    with pool_arguments(ping_after_idle=60) as connection:
        first_id, _ = probe(connection)
        admin.query(f"KILL {int(first_id)}")
        # The server closes the socket; the pool sees it at checkout (poll(),
        # no round trip) and opens a new connection instead of failing.
        deadline = time.monotonic() + 5
        while first_id in admin.connection_ids("root") and time.monotonic() < deadline:
            time.sleep(0.01)
        request(lambda: Item.objects.exists())
        second_id, _ = probe(connection)
    assert second_id != first_id


@pytest.mark.parametrize("use_lifo", [True, False])
def test_several_killed_idle_connections_are_replaced_at_checkout(admin, use_lifo):
    import threading

    with pool_arguments(ping_after_idle=60, use_lifo=use_lifo) as connection:
        ids, ready, release = [], threading.Barrier(3), threading.Event()

        def hold():
            try:
                ids.append(probe_in_thread())
                ready.wait(10)
                release.wait(10)
            finally:
                connections.close_all()

        def probe_in_thread():
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT CONNECTION_ID()")
                return cursor.fetchone()[0]

        threads = [threading.Thread(target=hold) for _ in range(3)]
        for thread in threads:
            thread.start()
        release.set()
        for thread in threads:
            thread.join(10)
        assert len(set(ids)) == 3  # three idle connections in the pool now
        for connection_id in ids:
            admin.query(f"KILL {int(connection_id)}")
        deadline = time.monotonic() + 5
        while set(ids) & admin.connection_ids("root") and time.monotonic() < deadline:
            time.sleep(0.01)
        # One checkout walks past every dead one (FIFO) or reconnects the slot
        # it just closed (LIFO); either way the request succeeds.
        request(lambda: Item.objects.exists())
        new_id, _ = probe(connection)
    assert new_id not in ids


def test_busy_threads_over_a_small_pool_are_served_in_turn():
    """No thread waits past the pool's timeout while others keep being served."""
    import threading

    from mysqlpool import PoolTimeout

    with pool_arguments(pool_size=2, max_overflow=0, timeout=2):
        served, timeouts, stop = {}, [], threading.Event()

        def busy(index):
            served[index] = 0
            try:
                while not stop.is_set():
                    try:
                        with connections["default"].cursor() as cursor:
                            cursor.execute("SELECT 1")
                    except PoolTimeout as exc:
                        timeouts.append(exc)
                    finally:
                        connections["default"].close()
                    served[index] += 1
            finally:
                connections.close_all()

        threads = [threading.Thread(target=busy, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        time.sleep(5)
        stop.set()
        for thread in threads:
            thread.join(30)
    assert timeouts == []
    assert all(count > 0 for count in served.values()), served
