"""Django's persistent-connection settings on a pooled alias.

A pooled alias refuses a non-zero CONN_MAX_AGE at its first connection
(test_bad_input). Set afterwards on a live connection, as Django's own tests
do, it gets Django's behaviour: the checkout is kept across requests until
close(). A connection that fails Django's health check is not put back.
"""

import contextlib

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections

import mysqlpool
from tests.conftest import connection_id
from tests.support.requests import request

pytestmark = pytest.mark.django_db(transaction=True)


@contextlib.contextmanager
def patched_settings(connection, **changes):
    saved = {key: connection.settings_dict[key] for key in changes}
    connection.settings_dict.update(changes)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def checked_out() -> int:
    return mysqlpool.stats()["default"]["checked_out"]


def test_conn_max_age_none_set_on_a_live_connection_keeps_its_checkout():
    connection = connections["default"]
    connection_id()
    connection.close()
    with patched_settings(connection, CONN_MAX_AGE=None):
        first = request(connection_id)
        assert connection.connection is not None and checked_out() == 1
        assert request(connection_id) == first
        connection.close()
        assert checked_out() == 0


def test_a_connection_that_fails_the_health_check_is_not_put_back(admin):
    connection = connections["default"]
    connection_id()
    connection.close()
    with patched_settings(connection, CONN_MAX_AGE=None, CONN_HEALTH_CHECKS=True):
        first = request(connection_id)
        admin.query(f"KILL {int(first)}")
        before = mysqlpool.stats()["default"]
        request_started.send(sender=None)  # the next request's health check comes first
        connection.close_if_health_check_failed()
        after = mysqlpool.stats()["default"]
        assert connection.connection is None
        assert after["invalidations"] == before["invalidations"] + 1
        assert after["checked_out"] == 0
        assert connection_id() != first
        request_finished.send(sender=None)
