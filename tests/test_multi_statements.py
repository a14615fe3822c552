"""Several statements in one query: refused unless asked for, except with
mysqlclient, which allows them by default (its own ``multi_statements`` option,
default True, turns them off).

Allowed, they let a raw-SQL injection stack a statement of its own
("...; DROP TABLE ..."). mysqlpool runs Django's session statements one at a
time, so Django does not need them.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import ProgrammingError, connections

from mysqlpool.drivers import get_driver
from tests.aliases import temporary_alias

pytestmark = pytest.mark.usefixtures("database_access")


DRIVER = get_driver(settings.MYSQLPOOL_DRIVER)
#: Each driver's own default, as stock: only mysqlclient enables them itself.
ALLOWED_BY_DEFAULT = DRIVER.name == "mysqlclient"


def results(connection) -> list:
    """Every result set of "SELECT 1; SELECT 2" on ``connection``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1; SELECT 2")
        found = [tuple(cursor.fetchall())]
        while cursor.nextset():
            found.append(tuple(cursor.fetchall()))
    return found


def alias_with(options: dict):
    entry = {**connections["default"].settings_dict}
    entry["OPTIONS"] = {**entry["OPTIONS"], **options}
    return temporary_alias("multi", **entry)


def test_refused_by_default_except_with_mysqlclient_and_allowed_by_client_flag():
    with alias_with({}) as connection:
        if ALLOWED_BY_DEFAULT:
            # mysqlclient's own default (multi_statements=True), as in stock Django.
            assert results(connection) == [((1,),), ((2,),)]
        else:
            # PyMySQL and mysql-connector used to get CLIENT.MULTI_STATEMENTS
            # from mysqlpool (mysql-connector also has it in its default flags).
            with pytest.raises(ProgrammingError) as refused:
                results(connection)
            assert "1064" in str(refused.value), refused.value
    # CLIENT.MULTI_STATEMENTS, the same bit in every driver's constants, with
    # Django's own flag (found rows) that OPTIONS["client_flag"] replaces.
    flags = (1 << 16) | 2
    with alias_with({"client_flag": flags}) as connection:
        assert results(connection) == [((1,),), ((2,),)]


@pytest.mark.parametrize("allowed", [True, False])
def test_multi_statements_option_means_the_same_with_every_driver(allowed):
    # mysqlclient's own option; PyMySQL and mysql-connector used to refuse it
    # as an unknown connect argument.
    with alias_with({"multi_statements": allowed}) as connection:
        if allowed:
            assert results(connection) == [((1,),), ((2,),)]
        else:
            with pytest.raises(ProgrammingError):
                results(connection)
