"""auto_close_db for threads and coroutines, and fork safety."""

import asyncio
import gc
import multiprocessing
import os

import pytest
from django.db import connections

import mysqlpool
from tests.app.models import Item
from tests.conftest import connection_id
from tests.support.threads import run_in_thread

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def checked_out(alias: str) -> int:
    return mysqlpool.stats().get(alias, {}).get("checked_out", 0)


def test_auto_close_db_returns_every_alias_after_return():
    during = {}

    @mysqlpool.auto_close_db
    def work():
        Item.objects.using("default").count()
        Item.objects.using("other").count()
        during.update(default=checked_out("default"), other=checked_out("other"))
        return "done"

    before = {alias: checked_out(alias) for alias in ("default", "other")}
    # The thread's connections are left as the decorator leaves them.
    assert run_in_thread(work, return_connections=False) == "done"
    assert during == {"default": before["default"] + 1, "other": before["other"] + 1}
    assert {alias: checked_out(alias) for alias in ("default", "other")} == before


def test_auto_close_db_returns_connections_when_the_function_raises():
    @mysqlpool.auto_close_db
    def work():
        Item.objects.count()
        raise ValueError("boom")

    before = checked_out("default")
    with pytest.raises(ValueError, match="boom"):
        run_in_thread(work, return_connections=False)
    assert checked_out("default") == before


def test_auto_close_db_on_a_coroutine():
    during = []

    @mysqlpool.auto_close_db
    async def work():
        await Item.objects.acreate(name="async")
        during.append(checked_out("default"))
        return await Item.objects.filter(name="async").acount()

    before = checked_out("default")
    assert asyncio.run(work()) == 1
    assert during == [before + 1]
    assert checked_out("default") == before


def test_auto_close_db_leaves_an_enclosing_atomic_block_alone():
    from django.db import transaction

    @mysqlpool.auto_close_db
    def inner():
        return Item.objects.count()

    with transaction.atomic():
        Item.objects.create(name="in transaction")
        inner()
        # Still the same open transaction: our row is visible, nothing committed.
        assert Item.objects.filter(name="in transaction").exists()


def _child_work(queue):
    # Runs in a forked child: its own connection, then a normal interpreter exit
    # path for garbage (dropping the inherited wrapper and pool objects).
    queue.put(connection_id())
    connections.close_all()
    gc.collect()


# Earlier tests leave helper threads (asgiref's executor) in this process;
# Python 3.12+ warns about any fork from a multi-threaded process.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_fork_children_never_touch_the_parents_connections(admin):
    # Warm pools in the parent: one idle pooled connection, one checked out.
    idle_id = connection_id("other")
    connections["other"].close()
    held_id = connection_id("default")

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            child_default = connection_id("default")
            child_other = connection_id("other")
            os.write(write, f"{child_default} {child_other}".encode())
            connections.close_all()
            mysqlpool.close_pool()
            gc.collect()
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    child_ids = {int(x) for x in os.read(read, 100).split()}
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not child_ids & {idle_id, held_id}, "the child must open its own connections"

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    process = ctx.Process(target=_child_work, args=(queue,))
    process.start()
    mp_child_id = queue.get(timeout=30)
    process.join(30)
    assert process.exitcode == 0
    assert mp_child_id not in {idle_id, held_id}

    # The parent's connections survived both children.
    assert connection_id("default") == held_id
    connections["default"].close()
    assert connection_id("other") == idle_id
    alive = {row[0] for row in admin.query("SELECT ID FROM information_schema.PROCESSLIST")}
    assert {idle_id, held_id} <= alive


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_close_pool_before_fork_leaves_nothing_to_inherit():
    connection_id()
    connections.close_all()
    mysqlpool.close_pool()
    assert mysqlpool.stats() == {}
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if connection_id() else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert connection_id()


def _fork_and_report_connection_id() -> int:
    """Fork; the child reports the CONNECTION_ID() its first query runs on."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(read)
            os.write(write, str(connection_id("default")).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    reported = os.read(read, 100)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return int(reported)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
@pytest.mark.parametrize("retired_by", ["close_pool", "a settings change"])
def test_a_child_never_uses_a_connection_its_parent_held_in_a_retired_pool(
        retired_by, settings):
    """The README's advice (close_pool() before fork) with a connection still
    checked out: the retired pool's checkout must not reach the child."""
    held_id = connection_id("default")  # held by this thread across the fork
    if retired_by == "close_pool":
        mysqlpool.close_pool()
    else:
        # Another thread connects with changed settings: a new pool for the
        # alias, and the one holding our connection is retired.
        settings.MYSQLPOOL_ARGUMENTS = {"recycle": 3600}
        run_in_thread(connection_id, "default")
    assert _fork_and_report_connection_id() != held_id
    # The parent still has its connection, untouched by the child.
    assert connection_id("default") == held_id


@pytest.mark.parametrize("kind", ["generator", "async generator"])
def test_auto_close_db_returns_a_generators_connections_after_it_ends(kind):
    seen = []
    if kind == "generator":
        @mysqlpool.auto_close_db
        def rows():
            for item in Item.objects.all():
                seen.append(checked_out("default"))
                yield item.name

        def consume():
            return list(rows())
    else:
        @mysqlpool.auto_close_db
        async def rows():
            async for item in Item.objects.all():
                seen.append(checked_out("default"))
                yield item.name

        def consume():
            async def gather():
                return [name async for name in rows()]
            return asyncio.run(gather())

    Item.objects.bulk_create([Item(name=f"g{i}") for i in range(3)])
    connections["default"].close()
    before = checked_out("default")
    names, after = [], []

    def run():
        names.extend(consume())
        after.append(checked_out("default"))  # still in the thread that used it

    run_in_thread(run, return_connections=False)
    # The body ran with its connection checked out (the decorator returned it
    # only when the generator was done), and it went back as soon as it was.
    assert sorted(names) == ["g0", "g1", "g2"]
    assert seen == [before + 1] * 3
    assert after == [before]


def test_auto_close_db_leaves_the_callers_transaction_alone():
    """A caller that turned autocommit off keeps its uncommitted work across a
    decorated call (it was rolled back, and the connection returned, before)."""
    from django.db import transaction

    @mysqlpool.auto_close_db
    def helper():
        return Item.objects.count()

    transaction.set_autocommit(False)
    try:
        Item.objects.create(name="uncommitted")
        helper()
        assert Item.objects.filter(name="uncommitted").exists()
        transaction.commit()
    finally:
        transaction.set_autocommit(True)
    assert Item.objects.filter(name="uncommitted").exists()
