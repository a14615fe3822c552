"""Bad configurations and conditions: each gives a clear error that names the
setting and the fix, from the system check and on first connection, and never
shows a password."""

from __future__ import annotations

import sys
import time
import traceback

import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections
from django.db.utils import OperationalError
from sqlalchemy import pool as sa_pool

from mysqlpool import drivers
from mysqlpool import pool as pools
from mysqlpool.checks import check_pool_settings
from tests.aliases import temporary_alias
from tests.support.holding import hold_concurrently
from tests.support.net import closed_port
from tests.users import OTHER

#: Used as the alias's password wherever the password itself is not the problem.
SECRET = OTHER.password
WRONG = "Wrong-Secret-b7e2"
CONNECT_TIMEOUT = 5


pytestmark = pytest.mark.usefixtures("database_access")


def entry(**overrides) -> dict:
    """A DATABASES entry for the shared server, as the 'other' user."""
    options = overrides.pop("OPTIONS", {})
    return django_settings.SERVER.django(**{
        "USER": OTHER.user, "PASSWORD": SECRET,
        "OPTIONS": {"connect_timeout": CONNECT_TIMEOUT, **options}, **overrides,
    })


def assert_clear(text: str, *needles: str) -> None:
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    assert SECRET not in text and WRONG not in text


def assert_no_secret(exc: BaseException) -> None:
    """Not in the message, the repr, or anything the traceback prints."""
    printed = "".join(traceback.format_exception(exc))
    for text in (str(exc), repr(exc), printed):
        assert SECRET not in text and WRONG not in text


def check_messages(alias: str | None = None) -> list[str]:
    """The system check's messages (for ``alias``, or the global ones)."""
    return [
        f"{error.id} {error.msg}" for error in check_pool_settings()
        if alias is None or error.obj == f"DATABASES[{alias!r}]"
    ]


def first_connection(alias: str = "bad", error=ImproperlyConfigured, then=None,
                     **overrides):
    """Connect a new alias; return the error, and how long it took. A failed
    connect must leave every slot of the pool free; ``then(connection)``, if
    given, runs before the alias goes."""
    with temporary_alias(alias, **entry(**overrides)) as connection:
        start = time.monotonic()
        with pytest.raises(error) as raised:
            connection.ensure_connection()
        elapsed = time.monotonic() - start
        assert_no_secret(raised.value)
        assert_no_slot_leaked(alias)
        if then is not None:
            then(connection)
        return raised.value, elapsed


def assert_no_slot_leaked(alias: str) -> None:
    """Every slot of the alias's pool (if it has one) can be taken again: at
    mysqlpool's gate, which lets checkouts in, and in SQLAlchemy's pool."""
    pool = pools.pool_for(alias)
    if pool is None:
        return
    assert pool.checked_out() == 0
    if pool.gate is None:
        return
    taken = 0
    try:
        while pool.gate.try_enter():
            taken += 1
    finally:
        for _ in range(taken):
            pool.gate.leave()
    assert taken == pool.config.pool_size + pool.config.max_overflow, "a slot leaked"


# ----- settings ------------------------------------------------------------------


def assert_reported(check_message: str, code: str = "mysqlpool.E002", **overrides) -> None:
    """The system check's message has ``code``; the first connection of an
    alias (with ``overrides``) fails with the same message."""
    assert check_message.startswith(f"{code} "), check_message
    error, _ = first_connection(**overrides)
    assert str(error) == check_message[len(code) + 1:]


#: What every message about a bad MYSQLPOOL_BACKEND offers instead.
POOL_CLASSES = "Use one of AssertionPool, NullPool, QueuePool"

#: A bad global setting, and what the message about it says.
BAD_GLOBAL_SETTINGS = [
    ("MYSQLPOOL_BACKEND", "FancyPool",
     ["MYSQLPOOL_BACKEND = 'FancyPool' is not a SQLAlchemy pool class", POOL_CLASSES]),
    ("MYSQLPOOL_BACKEND", "AsyncAdaptedQueuePool",
     ["MYSQLPOOL_BACKEND = 'AsyncAdaptedQueuePool' is an asyncio pool", POOL_CLASSES]),
    ("MYSQLPOOL_BACKEND", "myproject.pools.MyPool",
     ["MYSQLPOOL_BACKEND = 'myproject.pools.MyPool' cannot be imported",
      "No module named 'myproject'", "dotted path", POOL_CLASSES]),
    ("MYSQLPOOL_ARGUMENTS", {"use_threadlocal": True},
     ["MYSQLPOOL_ARGUMENTS['use_threadlocal'] is not a pool argument",
      "removed in SQLAlchemy 1.4", "remove it"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_recycle": 3600},
     ["MYSQLPOOL_ARGUMENTS['pool_recycle'] is not a pool argument", "use 'recycle'"]),
    ("MYSQLPOOL_ARGUMENTS", [("pool_size", 5)],
     ["MYSQLPOOL_ARGUMENTS = [('pool_size', 5)]: must be a dict",
      "{'pool_size': 10, 'max_overflow': 0}"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_size": -1},
     ["MYSQLPOOL_ARGUMENTS['pool_size'] = -1: pool_size must be a whole number >= 0"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_size": "5"},
     ["MYSQLPOOL_ARGUMENTS['pool_size'] = '5': pool_size must be a whole number"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_size": 2.5},
     ["MYSQLPOOL_ARGUMENTS['pool_size'] = 2.5: pool_size must be a whole number"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_size": None},
     ["MYSQLPOOL_ARGUMENTS['pool_size'] = None: pool_size must be a whole number"]),
    ("MYSQLPOOL_ARGUMENTS", {"pool_size": True},
     ["MYSQLPOOL_ARGUMENTS['pool_size'] = True: pool_size must be a whole number"]),
    ("MYSQLPOOL_ARGUMENTS", {"timeout": "soon"},
     ["MYSQLPOOL_ARGUMENTS['timeout'] = 'soon': timeout must be a finite number of seconds"]),
]


@pytest.mark.parametrize("setting, value, needles", BAD_GLOBAL_SETTINGS,
                         ids=[f"{setting}={value!r}" for setting, value, _ in BAD_GLOBAL_SETTINGS])
def test_bad_global_settings(settings, setting, value, needles):
    setattr(settings, setting, value)
    (message,) = check_messages()
    assert_clear(message, "mysqlpool.E002", *needles)
    assert_reported(message)


class MySingletonPool(sa_pool.SingletonThreadPool):
    """A subclass of an unsafe class is as unsafe."""


@pytest.mark.parametrize("backend, reason", [
    ("StaticPool", "hands one DB-API connection to every thread at once"),
    ("SingletonThreadPool", "closes connections other threads are still using"),
    (f"{__name__}.MySingletonPool", "closes connections other threads are still using"),
])
def test_pool_classes_that_would_share_or_close_a_threads_connection(settings, backend,
                                                                      reason):
    settings.MYSQLPOOL_BACKEND = backend
    (message,) = check_messages()
    assert_clear(message, "mysqlpool.E002", f"MYSQLPOOL_BACKEND = {backend!r}",
                 "cannot be used with Django's threads", reason,
                 "{'pool_size': 1, 'max_overflow': 0}")
    assert "StaticPool" not in message.split("Use one of")[1]
    error, _ = first_connection()
    assert_clear(str(error), f"MYSQLPOOL_BACKEND = {backend!r}", reason)


def test_unknown_driver(settings):
    settings.MYSQLPOOL_DRIVER = "mariadb"
    messages = check_messages()
    assert any(m.startswith("mysqlpool.E001") for m in messages), messages
    (message,) = [m for m in messages if m.startswith("mysqlpool.E001")]
    assert_clear(message, "MYSQLPOOL_DRIVER = 'mariadb' is not a driver mysqlpool knows",
                 "'mysqlclient', 'pymysql', 'mysql-connector'", "leave it unset")
    assert_reported(message, "mysqlpool.E001")


@pytest.mark.parametrize("name", list(drivers.DRIVERS))
def test_driver_not_installed(settings, monkeypatch, name):
    cls = drivers.DRIVERS[name]
    # The import fails as it would without the package; nothing is cached.
    monkeypatch.setitem(sys.modules, cls.module_name, None)
    monkeypatch.setattr(drivers, "_loaded", {})
    settings.MYSQLPOOL_DRIVER = name
    (message,) = [m for m in check_messages() if m.startswith("mysqlpool.E001")]
    assert_clear(message, f"MYSQLPOOL_DRIVER = {name!r}", f"{cls.distribution} is not installed",
                 f"pip install {cls.distribution}", "or choose an installed driver")
    assert_reported(message, "mysqlpool.E001")


@pytest.mark.parametrize("pool, needle", [
    ({"pool_size": -1}, "['pool_size'] = -1: pool_size must be a whole number >= 0"),
    ({"max_overflow": -2}, "['max_overflow'] = -2: max_overflow must be a whole number >= -1"),
    ({"pool_size": "10"}, "['pool_size'] = '10': pool_size must be a whole number"),
    ({"pool_size": 2.5}, "['pool_size'] = 2.5: pool_size must be a whole number"),
    ({"max_overflow": True}, "['max_overflow'] = True: max_overflow must be a whole number"),
    ({"timeout": -1}, "['timeout'] = -1: timeout must be a finite number of seconds > 0"),
    ({"recycle": "1h"}, "['recycle'] = '1h': recycle must be a finite number of seconds"),
    ({"ping_after_idle": -0.5}, "ping_after_idle must be a finite number of seconds >= 0"),
    ({"leak_warning_after": 0}, "leak_warning_after must be a finite number of seconds > 0"),
    # Infinity passed validation once, then failed inside the wait (OverflowError).
    ({"timeout": float("inf")}, "['timeout'] = inf: timeout must be a finite number"),
    ({"recycle": float("nan")}, "['recycle'] = nan: recycle must be a finite number"),
], ids=lambda value: str(value) if isinstance(value, dict) else "")
def test_bad_sizes_and_times(pool, needle):
    with temporary_alias("bad", **entry(OPTIONS={"pool": pool})):
        (message,) = check_messages("bad")
    assert_clear(message, "mysqlpool.E002", "DATABASES['bad']['OPTIONS']['pool']", needle)
    error, _ = first_connection(OPTIONS={"pool": pool})
    assert_clear(str(error), needle)


@pytest.mark.parametrize("pool", ["yes", 5])
def test_pool_option_of_the_wrong_type(pool):
    with temporary_alias("bad", **entry(OPTIONS={"pool": pool})):
        (message,) = check_messages("bad")
    assert_clear(message, f"DATABASES['bad']['OPTIONS']['pool'] = {pool!r}", "must be True",
                 "False (no pooling for this alias)", "{'pool_size': 10}")
    assert_reported(message, OPTIONS={"pool": pool})


def test_unknown_key_in_pool_options():
    with temporary_alias("bad", **entry(OPTIONS={"pool": {"size": 5}})):
        (message,) = check_messages("bad")
    assert_clear(message, "DATABASES['bad']['OPTIONS']['pool']['size'] = 5",
                 "QueuePool has no argument 'size'", "Valid arguments:", "pool_size",
                 "leak_warning_after")
    assert "reset_on_return" not in message.split("Valid arguments:")[1]
    assert_reported(message, OPTIONS={"pool": {"size": 5}})


@pytest.mark.parametrize("pool, needle", [
    ({"min_size": -1}, "['min_size'] = -1: min_size must be a whole number >= 0"),
    ({"min_size": 6, "pool_size": 5},
     "['min_size'] = 6: min_size must be at most the connections the pool keeps open, "
     "pool_size = 5"),
    ({"min_size": 4, "max_size": 3}, "['min_size'] = 4: min_size must be at most"),
    ({"max_size": 0}, "['max_size'] = 0: max_size must be a whole number >= 1"),
    ({"max_idle": -1}, "['max_idle'] = -1: max_idle must be a finite number of seconds > 0"),
    ({"ping_timeout": 0}, "['ping_timeout'] = 0: ping_timeout must be a finite number"),
    ({"max_lifetime": "1h"}, "['max_lifetime'] = '1h': max_lifetime must be a finite number"),
    ({"password_provider": "nowhere.token"},
     "['password_provider'] = 'nowhere.token': password_provider cannot be imported"),
    ({"password_provider": "os.sep"},
     "['password_provider'] = 'os.sep': password_provider names str, which is not callable"),
    ({"password_provider": 42}, "password_provider must be a callable or the dotted path"),
    # Both names of Django's PostgreSQL pool and SQLAlchemy's for one meaning.
    ({"max_size": 4, "pool_size": 4},
     "gives 'max_size' = 4 (Django's PostgreSQL pool's name) and 'pool_size' (SQLAlchemy's) "
     "for the same thing: keep one, either 'max_size' or 'pool_size' and 'max_overflow'"),
    ({"max_lifetime": 60, "recycle": 60},
     "gives 'max_lifetime' = 60 (Django's PostgreSQL pool's name) and 'recycle'"),
    ({"max_waiting": 10}, "['max_waiting'] is not a pool argument"),
    ({"target_session_attrs": "replica"},
     "['target_session_attrs'] = 'replica': target_session_attrs must be one of 'any', "
     "'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'"),
    ({"max_replication_lag": -1},
     "['max_replication_lag'] = -1: max_replication_lag must be a finite number of seconds"),
    ({"max_replication_lag": 5},
     "['max_replication_lag'] = 5: it bounds the lag of the replicas read from, so "
     "target_session_attrs must be one of 'prefer-standby', 'read-only', 'standby' "
     "(it is 'any')"),
    ({"max_replication_lag": 5, "target_session_attrs": "read-write"},
     "(it is 'read-write')"),
], ids=lambda value: str(value) if isinstance(value, dict) else "")
def test_bad_lifecycle_arguments(pool, needle):
    with temporary_alias("bad", **entry(OPTIONS={"pool": pool})):
        (message,) = check_messages("bad")
    assert_clear(message, "mysqlpool.E002", "DATABASES['bad']['OPTIONS']['pool']", needle)
    error, _ = first_connection(OPTIONS={"pool": pool})
    assert_clear(str(error), needle)


@pytest.mark.parametrize("pool, needles", [
    ({"min_size": 1}, ["['min_size'] = 1: NullPool keeps no idle connections"]),
    ({"pool_size": 3}, ["['pool_size'] = 3: NullPool has no argument 'pool_size'",
                        "Valid arguments:", "recycle"]),
], ids=["min_size", "pool_size"])
def test_arguments_the_pool_class_does_not_take(settings, pool, needles):
    settings.MYSQLPOOL_BACKEND = "NullPool"
    with temporary_alias("bad", **entry(OPTIONS={"pool": pool})):
        (message,) = check_messages("bad")
    assert_clear(message, "DATABASES['bad']['OPTIONS']['pool']", *needles)
    assert_reported(message, OPTIONS={"pool": pool})


def test_an_alias_may_use_the_other_family_than_the_global_arguments(settings):
    """An alias's max_size replaces MYSQLPOOL_ARGUMENTS' pool_size and max_overflow."""
    settings.MYSQLPOOL_ARGUMENTS = {"pool_size": 10, "max_overflow": 5, "recycle": 60}
    with temporary_alias("fine", **entry(OPTIONS={"pool": {"max_size": 3,
                                                          "max_lifetime": 30}})) as connection:
        assert check_messages("fine") == []
        config = connection.pool_config()
    assert (config.pool_size, config.max_overflow, config.lifetime) == (3, 0, 30)


def test_a_password_provider_that_returns_no_str_is_named():
    entry_ = entry(OPTIONS={"pool": {"password_provider": lambda settings_dict: None}})
    error, _ = first_connection(error=ImproperlyConfigured, **entry_)
    assert_clear(str(error), "DATABASES['bad']: password_provider returned a NoneType",
                 "must return a str")


@pytest.mark.parametrize("max_age", [60, None])
def test_persistent_connections(max_age):
    with temporary_alias("bad", **entry(CONN_MAX_AGE=max_age)):
        (message,) = check_messages("bad")
    assert_clear(message, f"DATABASES['bad']['CONN_MAX_AGE'] = {max_age!r}",
                 "Set CONN_MAX_AGE to 0", "['OPTIONS']['pool'] = False")
    assert_reported(message, CONN_MAX_AGE=max_age)


def test_pool_false_means_unpooled_and_accepts_persistent_connections():
    with temporary_alias("unpooled", **entry(CONN_MAX_AGE=60,
                                             OPTIONS={"pool": False})) as connection:
        assert check_messages("unpooled") == []
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone()[0] == 1
        assert connection._checkout is None


def test_a_password_in_the_wrong_place_is_named_not_shown(settings):
    # For instance MYSQLPOOL_ARGUMENTS = DATABASES["default"], or a URL as the pool option.
    settings.MYSQLPOOL_ARGUMENTS = {"PASSWORD": SECRET, "passwd": SECRET}
    messages = check_messages()
    assert len(messages) == 2
    for message in messages:
        assert_clear(message, "has no argument", "'********'")
    with temporary_alias("bad", **entry(OPTIONS={
        "pool": f"mysql://{OTHER.user}:{SECRET}@127.0.0.1/test",
    })):
        bad_alias_messages = check_messages("bad")
    assert any(f"mysql://{OTHER.user}:********@127.0.0.1/test" in m
               for m in bad_alias_messages), bad_alias_messages
    for message in bad_alias_messages:
        assert_clear(message)


def test_every_problem_is_reported_at_once(settings):
    settings.MYSQLPOOL_ARGUMENTS = {"use_threadlocal": False, "pool_size": -1}
    error, _ = first_connection(CONN_MAX_AGE=30, OPTIONS={"pool": {"sise": 3}})
    assert_clear(str(error), "use_threadlocal", "pool_size", "CONN_MAX_AGE", "'sise'")


def test_manage_py_check_fails_with_every_message(settings):
    settings.MYSQLPOOL_ARGUMENTS = {"use_threadlocal": True}
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert_clear(str(raised.value), "mysqlpool.E002", "use_threadlocal", "remove it")
    with temporary_alias("bad", **entry(CONN_MAX_AGE=5, OPTIONS={"pool": {"pool_size": -2}})):
        with pytest.raises(SystemCheckError) as raised:
            # Only mysqlpool's checks: Django 6.1's model checks would connect.
            call_command("check", tags=["mysqlpool"])
    assert_clear(str(raised.value), "use_threadlocal", "DATABASES['bad']['CONN_MAX_AGE'] = 5",
                 "DATABASES['bad']['OPTIONS']['pool']['pool_size'] = -2")


@pytest.mark.parametrize("tags", [["database"], None], ids=["database", "all"])
def test_check_database_reports_pool_settings_through_the_backend(tags):
    # `manage.py check --database` asks the backend's validation, which works
    # whether or not "mysqlpool" is in INSTALLED_APPS. Django's database and
    # model checks would connect: the run ends with the settings' errors,
    # each said once (mysqlpool's own check says them too).
    connection = connections["default"]
    saved = connection.settings_dict["OPTIONS"]
    connection.settings_dict["OPTIONS"] = {**saved, "pool": {"max_overflow": "x"}}
    try:
        with pytest.raises(SystemCheckError) as raised:
            call_command("check", databases=["default"], tags=tags)
    finally:
        connection.settings_dict["OPTIONS"] = saved
    message = str(raised.value)
    assert_clear(message, "mysqlpool.E002", "['pool']['max_overflow'] = 'x'")
    assert message.count("['pool']['max_overflow'] = 'x'") == 1, message
    assert isinstance(raised.value, ImproperlyConfigured)  # still, for code catching those


def test_a_check_that_connects_reports_pool_settings_as_the_check():
    """A system check that connects to an alias with bad settings (Django's
    model checks ask the server's features) ends the run with the check's
    errors, not an ImproperlyConfigured from deep inside Django's checks."""
    with temporary_alias("bad", **entry(OPTIONS={"pool": {"pool_sise": 3}})) as connection:

        def connecting_check(**kwargs):
            connection.ensure_connection()
            return []

        registry = checks.registry.registry
        registry.register(connecting_check, "mysqlpool-test")
        try:
            with pytest.raises(SystemCheckError) as raised:
                call_command("check", tags=["mysqlpool-test"])
        finally:
            registry.registered_checks.discard(connecting_check)
        with pytest.raises(ImproperlyConfigured) as outside:  # not a check: as it is
            connection.ensure_connection()
    assert_clear(str(raised.value), "System check identified some issues",
                 "DATABASES['bad']: (mysqlpool.E002) DATABASES['bad']['OPTIONS']['pool']"
                 "['pool_sise'] = 3: QueuePool has no argument 'pool_sise'")
    assert type(outside.value) is ImproperlyConfigured
    assert "pool_sise" in str(outside.value)


def test_good_settings_pass_the_check():
    assert check_pool_settings() == []


# ----- conditions on first connection ----------------------------------------------


def hold_the_whole_pool_with_the_right_password(connection) -> None:
    # The password is not part of the pool: the same pool, every one of its
    # connections at once.
    pool = pools.pool_for(connection.alias)
    connection.settings_dict["PASSWORD"] = SECRET
    capacity = pool.config.pool_size + pool.config.max_overflow
    ids = hold_concurrently(connection.alias, capacity, timeout=30)
    assert len(set(ids)) == capacity
    assert pools.pool_for(connection.alias) is pool


def test_wrong_password():
    error, _ = first_connection(error=OperationalError, PASSWORD=WRONG,
                                then=hold_the_whole_pool_with_the_right_password)
    assert type(error) is OperationalError  # Django's, whatever the driver
    assert_clear(str(error), "Access denied for user", OTHER.user)
    assert check_messages() == []  # a settings check can't know this one


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, as printed."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def test_a_refused_login_reads_like_stock_djangos():
    """Django's OperationalError, raised from the driver's, with a traceback
    from the connect straight to the driver: no frame of SQLAlchemy's pool
    (nor of the pool's internals) to read through, whatever the driver."""
    error, _ = first_connection(error=OperationalError, PASSWORD=WRONG)
    assert type(error) is OperationalError
    driver = connections["default"].driver
    assert isinstance(error.__cause__, driver.dbapi.Error)
    chain = exception_chain(error)
    frames = [frame.filename.replace("\\", "/") for exc in chain
              for frame in traceback.extract_tb(exc.__traceback__)]
    assert not [name for name in frames if "/sqlalchemy/" in name]
    assert not [name for name in frames if "/mysqlpool/pool/" in name
                and not name.endswith("/mysqlpool/pool/taking.py")]  # the checkout's only
    package = "/" + driver.module_name.replace(".", "/") + "/"
    assert package in frames[-1], frames  # raised by the driver
    assert not [exc for exc in chain if type(exc).__module__.startswith("sqlalchemy")]
    printed = "".join(traceback.format_exception(error))
    # Besides the frames' file names (which may hold "sqlalchemy" in a
    # virtualenv's path), nothing printed mentions SQLAlchemy.
    text = [line for line in printed.splitlines() if not line.lstrip().startswith("File ")]
    assert not [line for line in text if "sqlalchemy" in line.lower()], printed
    assert_clear(printed, "Access denied for user")


def test_wrong_password_without_pooling():
    error, _ = first_connection(error=OperationalError, PASSWORD=WRONG,
                                OPTIONS={"pool": False})
    assert_clear(str(error), "Access denied for user")


def test_unknown_database():
    error, _ = first_connection(error=OperationalError, NAME="mysqlpool_no_such_db")
    assert type(error) is OperationalError
    assert_clear(str(error), "Unknown database 'mysqlpool_no_such_db'")


def test_server_down_at_startup():
    error, elapsed = first_connection(error=OperationalError, PORT=str(closed_port()))
    assert type(error) is OperationalError
    assert_clear(str(error), "Can't connect", "127.0.0.1")
    assert elapsed < CONNECT_TIMEOUT


def test_unresolvable_host():
    host = "mysqlpool-no-such-host.invalid"
    error, elapsed = first_connection(error=OperationalError, HOST=host)
    assert type(error) is OperationalError
    assert_clear(str(error), host)
    assert elapsed < CONNECT_TIMEOUT + 10  # name resolution has its own timeouts


@pytest.mark.parametrize("options", [
    {"ssl_mode": "REQUIRED"},
    {"ssl_mode": "VERIFY_CA"},
    {"ssl": {"cipher": "ECDHE-RSA-AES256-GCM-SHA384"}},
    {"ssl_mode": "REQUIRED", "pool": False},
], ids=["REQUIRED", "VERIFY_CA", "ssl-dict", "REQUIRED-unpooled"])
def test_tls_required_but_not_offered(admin, options):
    # The shared server has no TLS: connecting in plain text would be the bug.
    assert admin.query("SELECT @@have_ssl")[0][0] != "YES"
    error, _ = first_connection(error=OperationalError, OPTIONS=options)
    assert type(error) is OperationalError
    assert error.args[0] == 2026
    assert_clear(str(error), "TLS is required", "OPTIONS['ssl_mode']",
                 "the server does not offer TLS", "Enable TLS on the server")


@pytest.mark.parametrize(("options", "needles"), [
    ({"ssl_mode": "REQUIRD"},
     ["DATABASES['bad']['OPTIONS']['ssl_mode'] = 'REQUIRD'", "'VERIFY_IDENTITY'"]),
    ({"ssl": {"ca": "/ca.pem", "crl": "/crl.pem"}},
     ["DATABASES['bad']['OPTIONS']['ssl']", "'crl' is not a key", "'capath'"]),
    ({"ssl": {"check_hostname": "yes"}, "pool": False},
     ["DATABASES['bad']['OPTIONS']['ssl']['check_hostname'] = 'yes'", "True or False"]),
], ids=["ssl_mode", "ssl-key", "ssl-type-unpooled"])
def test_bad_tls_options(options, needles):
    # Before, a misspelt ssl dict key was dropped by some drivers and passed to
    # others; messages did not name the alias.
    with temporary_alias("bad", **entry(OPTIONS=options)):
        (message,) = check_messages("bad")
        assert_clear(message, "mysqlpool.E002", *needles)
        error, _ = first_connection(OPTIONS=options)
        assert_clear(str(error), *needles)


def test_another_pool_packages_alias_settings_are_named_with_their_equivalent():
    """django-db-connection-pool's POOL_OPTIONS would be ignored silently."""
    # RESET_ON_RETURN is not one of the keys it reads: not carried over (as
    # reset_on_return it would be refused by mysqlpool).
    foreign = {"POOL_SIZE": 20, "MAX_OVERFLOW": 5, "PRE_PING": True, "RESET_ON_RETURN": None}
    with temporary_alias("bad", **entry(POOL_OPTIONS=foreign)):
        (message,) = check_messages("bad")
    assert_clear(message, "mysqlpool.E003",
                 "DATABASES['bad']['POOL_OPTIONS'] = {'POOL_SIZE': 20, 'MAX_OVERFLOW': 5, "
                 "'PRE_PING': True, 'RESET_ON_RETURN': None} is django-db-connection-pool's "
                 "setting",
                 "Use DATABASES['bad']['OPTIONS']['pool'] = {'pool_size': 20, 'max_overflow': 5} "
                 "(PRE_PING is not needed")


@pytest.mark.parametrize(("name", "value", "equivalent"), [
    ("DATABASE_POOL_ARGS", {"pool_size": 5}, "Use MYSQLPOOL_ARGUMENTS"),
    ("DATABASE_POOL_CLASS", "sqlalchemy.pool.QueuePool", "Use MYSQLPOOL_BACKEND"),
    ("DATABASE_POOL_CHECK", True, "Use nothing: mysqlpool checks every connection"),
])
def test_another_pool_packages_global_settings_are_named(settings, name, value, equivalent):
    setattr(settings, name, value)
    messages = [message for message in check_messages() if "mysqlpool.E004" in message]
    assert len(messages) == 1, messages
    assert_clear(messages[0], f"{name} = {value!r} is another pool package's setting",
                 equivalent)
