"""Session setup belongs to the wrapper's settings, not to the physical connection:
wrappers of one alias that differ in OPTIONS (Django's own isolation tests copy
a connection and change its isolation level) each get their own."""

from __future__ import annotations

import pytest
from django.db import connections

from tests.conftest import connection_id

pytestmark = pytest.mark.django_db(transaction=True)


def copy_with_isolation(level: str):
    wrapper = connections["default"].copy()
    wrapper.settings_dict["OPTIONS"] = {
        **wrapper.settings_dict["OPTIONS"], "isolation_level": level}
    return wrapper


def session_isolation(wrapper) -> str:
    with wrapper.cursor() as cursor:
        # tx_isolation on MariaDB, transaction_isolation on MySQL 8.
        cursor.execute("SHOW SESSION VARIABLES WHERE Variable_name IN "
                       "('tx_isolation', 'transaction_isolation')")
        return cursor.fetchone()[1]


def physical_id(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def test_each_wrapper_gets_its_own_isolation_level_on_a_shared_connection():
    connections["default"].close()
    seen = []
    for level in ("serializable", "read committed", "serializable", "repeatable read"):
        wrapper = copy_with_isolation(level)
        try:
            seen.append((physical_id(wrapper), session_isolation(wrapper)))
        finally:
            wrapper.close()
    ids = {connection_id for connection_id, _ in seen}
    assert len(ids) == 1, "the test needs the pool to hand out the same connection"
    assert [isolation for _, isolation in seen] == [
        "SERIALIZABLE", "READ-COMMITTED", "SERIALIZABLE", "REPEATABLE-READ"]
    # And the alias's own wrapper (read committed, Django's default) afterwards.
    assert connection_id() in ids, "the same connection again"
    assert session_isolation(connections["default"]) == "READ-COMMITTED"


def test_session_setup_is_not_repeated_for_the_same_settings(django_assert_num_queries):
    wrapper = copy_with_isolation("serializable")
    try:
        session_isolation(wrapper)
        wrapper.close()
        # Same settings, same physical connection: only the query itself.
        with django_assert_num_queries(1, connection=wrapper):
            assert session_isolation(wrapper) == "SERIALIZABLE"
    finally:
        wrapper.close()
