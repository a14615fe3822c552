"""Users never share connections; passwords never show (logs, errors, reprs, stats).
That TLS, when required, is really used: test_tls.py."""

from __future__ import annotations

import io
import json
import logging
import threading
import traceback
from collections import defaultdict

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connections
from django.db.utils import OperationalError

import mysqlpool
from mysqlpool import pool as pools
from mysqlpool.config import pool_config
from mysqlpool.pool import pool_key as _pool_key
from tests.aliases import temporary_alias
from tests.conftest import wait_for
from tests.support.threads import run_in_thread, run_threads
from tests.users import LIMITED, OTHER

SECRET = OTHER.password
WRONG = "Wrong-Secret-c41d"
SECRETS = (OTHER.password, LIMITED.password, WRONG)


pytestmark = pytest.mark.usefixtures("database_access")


def assert_no_secret(text: str, where: str = "") -> None:
    for secret in SECRETS:
        assert secret not in text, f"a password in {where or 'the output'}"


def current(alias: str) -> tuple[str, int]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER(), CONNECTION_ID()")
        return cursor.fetchone()


# ----- users and aliases -----------------------------------------------------------


def test_aliases_with_different_users_never_share_a_connection():
    server = django_settings.SERVER
    aliases = {
        "as_other": OTHER.user, "as_limited": LIMITED.user, "as_other_too": OTHER.user,
    }
    seen: dict[int, set[str]] = defaultdict(set)
    wrong: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(alias: str, user: str) -> None:
        for _ in range(25):
            who, connection_id = current(alias)
            with lock:
                seen[connection_id].add(alias)
                if who.split("@")[0] != user:
                    wrong.append((alias, who))
            connections[alias].close()

    entries = {
        "as_other": server.django(USER=OTHER.user, PASSWORD=OTHER.password),
        "as_limited": server.django(USER=LIMITED.user, PASSWORD=LIMITED.password),
        # Same user and settings as as_other: still a pool of its own.
        "as_other_too": server.django(USER=OTHER.user, PASSWORD=OTHER.password),
    }
    small = {"pool_size": 2, "max_overflow": 0, "timeout": 30}
    with temporary_alias("as_other", **entries["as_other"], OPTIONS={"pool": small}), \
            temporary_alias("as_limited", **entries["as_limited"], OPTIONS={"pool": small}), \
            temporary_alias("as_other_too", **entries["as_other_too"], OPTIONS={"pool": small}):
        run_threads([lambda alias=alias, user=user: worker(alias, user)
                     for alias, user in list(aliases.items()) * 6], timeout=120)
        keys = {alias: pools.pool_for(alias).key for alias in aliases}
    assert wrong == []
    shared = {cid: names for cid, names in seen.items() if len(names) > 1}
    assert shared == {}, "a server connection served two aliases"
    assert len(set(seen)) >= 3
    assert keys["as_other"] != keys["as_limited"]


# ----- passwords: logs -----------------------------------------------------------------


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with any traceback


@pytest.fixture
def debug_logs():
    """Everything the mysqlpool and sqlalchemy loggers say, at DEBUG."""
    handler = Captured()
    saved = []
    for name in ("mysqlpool", "sqlalchemy"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler.lines
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_no_password_in_logs_at_debug_with_echo(debug_logs, admin, capsys, settings):
    settings.MYSQLPOOL_ARGUMENTS = {"echo": "debug"}
    pool = {"pool_size": 1, "max_overflow": 0, "timeout": 0.5, "ping_after_idle": 0,
            "leak_warning_after": 0.2}
    entry = django_settings.SERVER.django(USER=OTHER.user, PASSWORD=SECRET)
    errors: list[BaseException] = []
    with temporary_alias("logged", **entry, OPTIONS={"pool": pool}) as connection:
        # Connect, query, return; again (a ping at checkout).
        first = current("logged")[1]
        connection.close()
        current("logged")
        # Held too long: a leak warning; meanwhile the pool is exhausted.
        wait_for(lambda: any("checked out for" in line for line in debug_logs), 10,
                 "no leak warning for a connection held past leak_warning_after")

        def exhausted() -> None:
            with pytest.raises(mysqlpool.PoolTimeout) as raised:
                current("logged")
            errors.append(raised.value)

        run_in_thread(exhausted)
        connection.close()
        # Killed on the server: replaced at the next checkout.
        admin.query(f"KILL {int(first)}")
        admin.wait_until_gone({first})
        current("logged")
        connection.close()
        # A thread that ends holding a connection.
        thread = threading.Thread(target=current, args=("logged",))  # never closes
        thread.start()
        thread.join(30)
        # Settings change: a new pool, the old one retired.
        connection.settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"],
                                               "init_command": "SET @changed = 1"}
        current("logged")
        connection.close()
        mysqlpool.close_pool("logged")
    # A wrong password, pooled and not.
    for pooled in (pool, False):
        bad = django_settings.SERVER.django(USER=OTHER.user, PASSWORD=WRONG)
        with temporary_alias("wrong", **bad, OPTIONS={"pool": pooled}) as connection:
            with pytest.raises(OperationalError) as raised:
                connection.ensure_connection()
            errors.append(raised.value)

    logged = "\n".join(debug_logs)
    # The scenario really produced logs of every kind...
    for expected in ("Created new connection", "New connection for 'logged'",
                     "checked out for", "exhausted", "Replacing a connection",
                     "A thread ended holding", "Settings of 'logged' changed",
                     "Error on connect()"):
        assert expected in logged, expected
    # ...and none of them, nor the errors, nor SQLAlchemy's echo output, holds a password.
    assert_no_secret(logged, "the logs")
    for error in errors:
        assert_no_secret("".join(traceback.format_exception(error)), repr(error))
    assert_no_secret(capsys.readouterr().out, "the echo output")


# ----- passwords: reprs, keys, stats -------------------------------------------------


def test_no_password_in_the_repr_of_any_mysqlpool_object():
    entry = django_settings.SERVER.django(USER=OTHER.user, PASSWORD=SECRET)
    with temporary_alias("shown", **entry) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            pool = pools.pool_for("shown")
            checkout = connection._checkout
            objects = {
                "pool": pool, "pool key": pool.key, "config": pool.config,
                "pool_config()": pool_config("shown", connection.settings_dict),
                "stats": pool.stats, "snapshot": pool.snapshot(), "driver": pool.driver,
                "SQLAlchemy pool": pool.sa_pool, "checkout": checkout,
                "credentials": pool.opener.credentials, "opener": pool.opener,
                "fairy": checkout.fairy, "wrapper": connection, "cursor": cursor,
                "cursor wrapper": cursor.cursor, "error wrapper": connection.wrap_database_errors,
            }
            for name, obj in objects.items():
                assert_no_secret(repr(obj), f"repr({name})")
                assert_no_secret(str(obj), f"str({name})")
    # Pool keys hold no login password (it may rotate without a new pool), and
    # other secrets (a client key's password) only as digests.
    params = {
        "host": "h", "user": "u", "password": SECRET, "passwd": SECRET,
        "password1": SECRET, "password2": LIMITED.password, "ssl_key_password": SECRET,
        "ssl": {"ca": "/ca.pem", "password": SECRET},
    }
    key = _pool_key(pool.driver, pool.config, params)
    assert_no_secret(repr(key), "a pool key")
    rotated = _pool_key(pool.driver, pool.config, {**params, "password": "another",
                                                   "password1": "another"})
    assert rotated == key, "a new login password is not a new pool"
    other_key = _pool_key(pool.driver, pool.config, {**params, "ssl_key_password": "x"})
    assert other_key != key, "another client key password is another pool"
    other_user = _pool_key(pool.driver, pool.config, {**params, "user": "v"})
    assert other_user != key, "another user is another pool"


def test_no_password_in_stats_or_the_stats_command():
    entry = django_settings.SERVER.django(USER=OTHER.user, PASSWORD=SECRET)
    with temporary_alias("counted", **entry):
        current("counted")
        connections["counted"].close()
        assert_no_secret(repr(mysqlpool.stats()), "stats()")
        for options in ({}, {"json": True}, {"connect": True}):
            out = io.StringIO()
            call_command("mysqlpool_stats", stdout=out, **options)
            assert "counted" in out.getvalue()
            assert_no_secret(out.getvalue(), f"mysqlpool_stats {options}")
        out = io.StringIO()
        call_command("mysqlpool_stats", json=True, stdout=out)
        assert json.loads(out.getvalue())["counted"]["connects"] >= 1
