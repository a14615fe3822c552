"""Bad settings fail at startup (system check) and on first connection, with a
message that names the setting, the bad value and what is valid."""

import importlib.util

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import override_settings

from mysqlpool.backends.mysqlpool.base import DatabaseWrapper
from mysqlpool.checks import check_pool_settings
from mysqlpool.drivers import DRIVERS

pytestmark = [
    pytest.mark.django_db,
    # The system check reads DATABASES; overriding it here is deliberate.
    pytest.mark.filterwarnings("ignore:Overriding setting DATABASES"),
]


def pooled_settings(**overrides):
    settings_dict = {**connections["default"].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"]}
    for key, value in overrides.items():
        if key == "pool":
            settings_dict["OPTIONS"]["pool"] = value
        else:
            settings_dict[key] = value
    return settings_dict


def first_connection_error(**overrides) -> str:
    wrapper = DatabaseWrapper(pooled_settings(**overrides), alias="bad_settings")
    with pytest.raises(ImproperlyConfigured) as raised:
        wrapper.ensure_connection()
    wrapper.close()
    return str(raised.value)


def check_messages(**overrides) -> str:
    databases = {"default": pooled_settings(**overrides)}
    with override_settings(DATABASES=databases):
        return "\n".join(error.msg for error in check_pool_settings())


def assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


@override_settings(MYSQLPOOL_BACKEND="FooPool")
def test_unknown_pool_class():
    message = first_connection_error()
    assert_names(message, "MYSQLPOOL_BACKEND", "'FooPool'", "QueuePool", "NullPool")
    assert message in check_messages()


@override_settings(MYSQLPOOL_BACKEND="AsyncAdaptedQueuePool")
def test_async_pool_class():
    assert_names(first_connection_error(), "MYSQLPOOL_BACKEND", "asyncio", "QueuePool")


@override_settings(MYSQLPOOL_DRIVER="oracle")
def test_unknown_driver():
    message = first_connection_error()
    assert_names(message, "MYSQLPOOL_DRIVER", "'oracle'", "'mysqlclient'", "'pymysql'",
                 "'mysql-connector'")
    assert_names(check_messages(), "MYSQLPOOL_DRIVER", "'oracle'")


def test_driver_not_installed():
    missing = [cls for cls in DRIVERS.values()
               if importlib.util.find_spec(cls.module_name.split(".")[0]) is None]
    if not missing:
        pytest.skip("every driver is installed here (tox environments install one)")
    cls = missing[0]
    with override_settings(MYSQLPOOL_DRIVER=cls.name):
        message = first_connection_error()
    assert_names(message, "MYSQLPOOL_DRIVER", repr(cls.name), "not installed",
                 f"mysqlpool[{cls.extra}]")


@override_settings(MYSQLPOOL_ARGUMENTS={"use_threadlocal": False})
def test_removed_argument_use_threadlocal():
    message = first_connection_error()
    assert_names(message, "MYSQLPOOL_ARGUMENTS['use_threadlocal']", "SQLAlchemy 1.4")


@override_settings(MYSQLPOOL_ARGUMENTS={"pool_recycle": 60})
def test_create_engine_spelling():
    assert_names(first_connection_error(), "MYSQLPOOL_ARGUMENTS['pool_recycle']", "'recycle'")


@pytest.mark.parametrize("value", [-1, "5", 2.5, None, True])
def test_pool_size_must_be_a_whole_number(value):
    with override_settings(MYSQLPOOL_ARGUMENTS={"pool_size": value}):
        message = first_connection_error()
    assert_names(message, "MYSQLPOOL_ARGUMENTS['pool_size']", repr(value), "whole number")


@override_settings(MYSQLPOOL_ARGUMENTS={"timeout": "soon"})
def test_timeout_must_be_seconds():
    assert_names(first_connection_error(), "MYSQLPOOL_ARGUMENTS['timeout']", "'soon'", "seconds")


@override_settings(MYSQLPOOL_ARGUMENTS=[("pool_size", 5)])
def test_arguments_must_be_a_dict():
    assert_names(first_connection_error(), "MYSQLPOOL_ARGUMENTS", "must be a dict")


def test_unknown_key_in_options_pool():
    message = first_connection_error(pool={"pool_sise": 3})
    assert_names(message, "DATABASES['bad_settings']['OPTIONS']['pool']['pool_sise']",
                 "pool_size", "max_overflow")
    assert_names(check_messages(pool={"pool_sise": 3}), "['OPTIONS']['pool']['pool_sise']")


def test_options_pool_of_the_wrong_type():
    assert_names(first_connection_error(pool=5), "['OPTIONS']['pool'] = 5", "True", "False")


def test_argument_of_another_pool_class():
    with override_settings(MYSQLPOOL_BACKEND="NullPool"):
        message = first_connection_error(pool={"pool_size": 3})
    assert_names(message, "'pool_size'", "NullPool", "recycle")


def test_persistent_connections_defeat_the_pool():
    message = first_connection_error(CONN_MAX_AGE=60)
    assert_names(message, "CONN_MAX_AGE", "60", "0")
    assert_names(check_messages(CONN_MAX_AGE=None), "CONN_MAX_AGE", "None")


def test_pool_false_means_unpooled_and_accepts_persistent_connections():
    wrapper = DatabaseWrapper(pooled_settings(pool=False, CONN_MAX_AGE=60), alias="unpooled")
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone()[0] == 1
        assert wrapper._checkout is None
    finally:
        wrapper.close()


def test_manage_py_check_reports_every_problem():
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    databases = {"default": pooled_settings(CONN_MAX_AGE=5, pool={"pool_size": -2})}
    with override_settings(DATABASES=databases, MYSQLPOOL_ARGUMENTS={"use_threadlocal": 1}):
        with pytest.raises(SystemCheckError) as raised:
            # Only mysqlpool's checks: Django 6.1's model checks would connect.
            call_command("check", tags=["mysqlpool"])
    assert_names(str(raised.value), "mysqlpool.E002", "CONN_MAX_AGE",
                 "['pool']['pool_size'] = -2", "use_threadlocal")


def test_good_settings_pass_the_check():
    assert check_pool_settings() == []


def test_check_database_reports_pool_settings_through_the_backend():
    # `manage.py check --database` asks the backend's validation, which works
    # whether or not "mysqlpool" is in INSTALLED_APPS.
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    connection = connections["default"]
    saved = connection.settings_dict["OPTIONS"]
    connection.settings_dict["OPTIONS"] = {**saved, "pool": {"max_overflow": "x"}}
    try:
        with pytest.raises(SystemCheckError) as raised:
            call_command("check", databases=["default"], tags=["database"])
    finally:
        connection.settings_dict["OPTIONS"] = saved
    assert_names(str(raised.value), "mysqlpool.E002", "['pool']['max_overflow'] = 'x'")
