"""A project's backend that subclasses mysqlpool's (another ENGINE, same
DatabaseWrapper underneath) gets mysqlpool's checks and ``mysqlpool_stats``."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections

import mysqlpool
from mysqlpool import config
from tests.aliases import temporary_alias
from tests.backends.subclassed.base import DatabaseWrapper as SubclassedWrapper
from tests.users import OTHER

SUBCLASSED = "tests.backends.subclassed"


pytestmark = pytest.mark.usefixtures("database_access")


def entry(**pool) -> dict:
    """A DATABASES entry on the subclassed backend for the shared server."""
    return django_settings.SERVER.django(
        ENGINE=SUBCLASSED, USER=OTHER.user, PASSWORD=OTHER.password,
        OPTIONS={"connect_timeout": 5, "pool": pool})


def test_check_reports_a_bad_pool_setting_of_a_subclassed_backend():
    with temporary_alias("subclassed", **entry(pool_size=-1)):
        with pytest.raises(SystemCheckError) as raised:
            # Only mysqlpool's checks: Django's model checks would connect.
            call_command("check", tags=["mysqlpool"])
    message = str(raised.value)
    assert "mysqlpool.E002" in message
    assert "DATABASES['subclassed']['OPTIONS']['pool']['pool_size'] = -1" in message


def test_stats_connect_lists_the_pool_of_a_subclassed_backend():
    with temporary_alias("subclassed", **entry(pool_size=2, max_overflow=0)) as connection:
        assert isinstance(connection, SubclassedWrapper)
        mysqlpool.close_pool("subclassed")
        out = io.StringIO()
        call_command("mysqlpool_stats", connect=True, json=True, stdout=out)
    pools = json.loads(out.getvalue())
    assert "subclassed" in pools, sorted(pools)
    assert pools["subclassed"]["pool_size"] == 2
    assert pools["subclassed"]["connects"] == 1


@contextlib.contextmanager
def settings_only_alias(alias: str, **entry: object) -> Iterator[None]:
    """``DATABASES[alias]`` without making its connection (temporary_alias
    makes it, which an ENGINE that cannot load does not survive)."""
    connections.settings[alias] = connections.configure_settings(
        {"default": {}, alias: entry})[alias]
    try:
        yield
    finally:
        connections.settings.pop(alias, None)


def test_an_alias_whose_backend_cannot_load_is_passed_over():
    broken = {"ENGINE": "tests.backends.no_such_backend"}
    with settings_only_alias("unloadable", **broken):
        call_command("check", tags=["mysqlpool"])  # no error, no crash
        out = io.StringIO()
        call_command("mysqlpool_stats", connect=True, json=True, stdout=out)
    assert "unloadable" not in json.loads(out.getvalue())
    assert config.is_pooled_backend(broken) is False


@pytest.mark.parametrize("engine, pooled", [
    ("mysqlpool.backends.mysqlpool", True),
    (SUBCLASSED, True),
    ("django.db.backends.sqlite3", False),
    ("", False),
])
def test_is_pooled_backend(engine, pooled):
    assert config.is_pooled_backend({"ENGINE": engine}) is pooled
