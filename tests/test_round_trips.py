"""What a pooled request sends to the server, counted by the server itself.

The session's ``Questions`` counter counts statements (ROLLBACK, SET, ...) and
``Com_admin_commands`` counts pings and resets, which ``Questions`` leaves out.
Together, between two probes on the same physical connection, they count every
request the client sent in between, whatever the driver does under Django.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time

import pytest
from django.db import connections
from django.db.backends.signals import connection_created

import mysqlpool
from tests.app.models import Item
from tests.conftest import wait_for
from tests.support.holding import held
from tests.support.requests import request

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = "SHOW SESSION STATUS WHERE Variable_name IN ('Questions', 'Com_admin_commands')"
#: The session's isolation level: tx_isolation on MariaDB (transaction_isolation
#: too from 11.1), transaction_isolation on MySQL 8, which removed tx_isolation.
ISOLATION = ("SHOW SESSION VARIABLES WHERE Variable_name IN "
             "('tx_isolation', 'transaction_isolation')")


@dataclasses.dataclass(frozen=True)
class Requests:
    """Requests a session has sent: statements (``Questions``) and the commands
    ``Questions`` leaves out, pings and resets (``Com_admin_commands``)."""

    statements: int
    admin_commands: int

    def __add__(self, other: Requests) -> Requests:
        return Requests(self.statements + other.statements,
                        self.admin_commands + other.admin_commands)

    def __sub__(self, other: Requests) -> Requests:
        return Requests(self.statements - other.statements,
                        self.admin_commands - other.admin_commands)


PING = Requests(statements=0, admin_commands=1)


def statements(count: int) -> Requests:
    return Requests(statements=count, admin_commands=0)


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


def probe(connection) -> tuple[int, Requests]:
    """(connection id, requests this session has sent so far), in its own checkout."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        connection_id = cursor.fetchone()[0]
        cursor.execute(COUNTERS)
        counters = {name: int(value) for name, value in cursor.fetchall()}
    connection.close()
    return connection_id, Requests(counters["Questions"], counters["Com_admin_commands"])


def probe_cost(connection) -> Requests:
    """What one probe itself sends, checkout and return included. Measure it on
    a pool that never pings (ping_after_idle None or long): it must not depend
    on how long the machine takes between the two probes."""
    first_id, first = probe(connection)
    second_id, second = probe(connection)
    assert first_id == second_id, "the pool handed out another connection"
    return second - first


def session_isolation(connection) -> tuple[int, str]:
    """(connection id, the session's isolation level), in its own checkout."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        connection_id = cursor.fetchone()[0]
        cursor.execute(ISOLATION)
        levels = {value for _, value in cursor.fetchall()}
    connection.close()
    assert len(levels) == 1, levels  # both names, where the server has both, agree
    return connection_id, levels.pop()


def wait_until_idle_for(seconds: float, since: float) -> None:
    """Return once more than ``seconds`` have passed on the monotonic clock
    (the pool's) since ``since``."""
    wait_for(lambda: time.monotonic() - since > seconds, seconds + 10,
             f"the monotonic clock did not pass {seconds} s", interval=seconds / 4)


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
    assert after - before == cost + statements(3)


def test_a_connection_idle_longer_than_ping_after_idle_is_pinged():
    # What a probe sends, from a pool that never pings. The same driver sends
    # the same requests for it from any pool.
    with pool_arguments(ping_after_idle=None) as connection:
        cost = probe_cost(connection)
    ping_after_idle = 0.2
    with pool_arguments(ping_after_idle=ping_after_idle) as connection:
        first_id, before = probe(connection)
        # The probe has returned the connection: it has been idle since before now.
        wait_until_idle_for(ping_after_idle, since=time.monotonic())
        last_id, after = probe(connection)
    assert last_id == first_id
    # The probe, plus exactly one ping at checkout.
    assert after - before == cost + PING


def test_session_state_is_set_once_per_physical_connection():
    with pool_arguments(ping_after_idle=60) as connection:
        first_id, isolation = session_isolation(connection)
        assert isolation == "READ-COMMITTED"
        cost = probe_cost(connection)
        _, before = probe(connection)
        request(lambda: Item.objects.exists())
        last_id, after = probe(connection)
    assert last_id == first_id
    assert after - before == cost + statements(1)


def test_a_request_that_changes_the_session_gets_the_state_again():
    with pool_arguments(ping_after_idle=60) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        connection.close()
        assert session_isolation(connection)[1] == "READ-COMMITTED"


def test_a_killed_connection_is_replaced_without_a_ping(admin):
    with pool_arguments(ping_after_idle=60) as connection:
        first_id, _ = probe(connection)
        admin.query(f"KILL {int(first_id)}")
        # The server closes the socket; the pool sees it at checkout (poll(),
        # no round trip) and opens a new connection instead of failing.
        user = connection.settings_dict["USER"]
        wait_for(lambda: first_id not in admin.connection_ids(user), 10,
                 f"connection {first_id} still on the server after KILL")
        request(lambda: Item.objects.exists())
        second_id, _ = probe(connection)
    assert second_id != first_id


@pytest.mark.parametrize("use_lifo", [True, False])
def test_several_killed_idle_connections_are_replaced_at_checkout(admin, use_lifo):
    with pool_arguments(ping_after_idle=60, use_lifo=use_lifo) as connection:
        # Three connections held at once, so three different ones; idle in the
        # pool once the block ends.
        with held("default", 3) as ids:
            assert len(set(ids)) == 3
        for connection_id in ids:
            admin.query(f"KILL {int(connection_id)}")
        user = connection.settings_dict["USER"]
        wait_for(lambda: not set(ids) & admin.connection_ids(user), 10,
                 f"connections {ids} still on the server after KILL")
        # One checkout walks past every dead one (FIFO) or reconnects the slot
        # it just closed (LIFO); either way the request succeeds.
        request(lambda: Item.objects.exists())
        new_id, _ = probe(connection)
    assert new_id not in ids


def test_busy_threads_over_a_small_pool_are_served_in_turn():
    """Threads waiting for a connection are served in the order they started
    waiting: each one starts only once the one before it is seen waiting."""
    waiters = 6
    with pool_arguments(pool_size=2, max_overflow=0, timeout=30):
        served: list[int] = []
        errors: list[BaseException] = []

        def wait_then_query(index: int) -> None:
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT 1")
                    # Still holding the connection: the next waiter cannot be
                    # served before this is recorded.
                    served.append(index)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        def waiting() -> int:
            return mysqlpool.stats()["default"]["waiting"]

        threads = []
        # One connection stays held throughout; the other goes from waiter to
        # waiter, so they are served one at a time.
        with held("default", 1):
            with held("default", 1):
                timeouts_before = mysqlpool.stats()["default"]["timeouts"]
                for index in range(waiters):
                    thread = threading.Thread(target=wait_then_query, args=(index,),
                                              name=f"waiter-{index}")
                    thread.start()
                    threads.append(thread)
                    wait_for(lambda: waiting() == len(threads), 10,
                             f"waiter {index} is not waiting for a connection")
            # The second holder has returned its connection: the waiters get it in turn.
            for thread in threads:
                thread.join(30)
            assert not [thread.name for thread in threads if thread.is_alive()]
            assert errors == []
            assert served == list(range(waiters))
            assert mysqlpool.stats()["default"]["timeouts"] == timeouts_before


def test_a_connection_taken_over_while_parked_is_followed_by_one_needing_no_setup():
    """A thread that would otherwise wait takes over the connection this
    wrapper parked and parks it on its own wrapper; this wrapper's next
    request gets a connection parked elsewhere (here that same one, the only
    one), set up for the same settings: it sends its query alone, as when it
    takes back its own."""
    created = []

    def count_created(sender, connection, **kwargs):
        if connection is connections["default"]:
            created.append(connection)

    with pool_arguments(pool_size=1, max_overflow=0, ping_after_idle=60) as connection:
        _, start = probe(connection)
        request(lambda: Item.objects.exists())
        first_id, end = probe(connection)
        own_parked = end - start  # this request and a probe, on its own parked one
        # held() keeps the other thread (and the connection it parked) alive
        # until the block ends.
        with held("default", 1, measure=lambda alias: probe(connections[alias])) as [
                (other_id, other_counters)]:
            assert other_id == first_id, "the other thread did not take it over"
            connection_created.connect(count_created)
            try:
                request(lambda: Item.objects.exists())
            finally:
                connection_created.disconnect(count_created)
            last_id, after = probe(connection)
            # Taken back from elsewhere, as Django's connect() would: the signal too.
            assert len(created) == 1
            assert session_isolation(connection) == (first_id, "READ-COMMITTED")
    assert last_id == first_id
    # The other thread's probe read its counters last; then this request's
    # query and a probe, exactly as on its own parked connection.
    assert after - other_counters == own_parked


def test_a_thread_that_finds_no_idle_connection_takes_over_a_parked_one():
    """A thread with no connection of its own, in a pool with none idle,
    takes over the connection another wrapper parked rather than open one
    more: the process holds as many connections as its threads use at once."""
    with pool_arguments(pool_size=5, max_overflow=0, ping_after_idle=60) as connection:
        first_id, _ = probe(connection)  # now parked on this thread's wrapper
        connects = mysqlpool.stats()["default"]["connects"]
        with held("default", 1) as [other_id]:
            assert other_id == first_id, "the other thread opened a connection of its own"
        # Back from the other thread (parked there, or given back as it ended).
        assert probe(connection)[0] == first_id
        assert mysqlpool.stats()["default"]["connects"] == connects
        # Two at once: the second opens one, as there is nothing to take over.
        with held("default", 2) as ids:
            assert first_id in ids and len(set(ids)) == 2
        assert mysqlpool.stats()["default"]["connects"] == connects + 1


def test_a_connection_changed_by_another_thread_is_set_up_again():
    """The thread that took the parked connection over changed its session: it
    went back to the pool reset (or closed), and this wrapper's next
    connection gets its session set up again."""
    def change_session(alias: str) -> None:
        wrapper = connections[alias]
        with wrapper.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        wrapper.close()

    with pool_arguments(pool_size=1, max_overflow=0, ping_after_idle=60) as connection:
        probe(connection)
        with held("default", 1, measure=change_session):
            pass
        assert session_isolation(connection)[1] == "READ-COMMITTED"
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@autocommit")
            assert cursor.fetchone()[0] == 1
        connection.close()
