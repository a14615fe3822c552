"""The raw connection and cursor mysqlpool hands out, compared with stock Django's.

Needs mysqlclient installed next to the driver under test (``tox -e
compat-pymysql`` and friends; skipped otherwise). The reference is what stock
Django's MySQL backend opens for the same DATABASES entry: the bare ``MySQLdb``
module, called by ``django.db.backends.mysql``'s own ``get_new_connection()``
with its own ``get_connection_params()`` (Django's ``conv``, charset utf8mb4,
client_flag FOUND_ROWS, the entry's OPTIONS). Never mysqlpool's mysqlclient
adapter: with MYSQLPOOL_DRIVER=mysqlclient that adapter is what is under test.
Both sides run the same probes against the same server. Three tables:

- every public name of mysqlclient's ``Connection`` and ``Cursor``, called where
  it is safe: the same, or as listed in ``DIFFERS`` / ``UNSUPPORTED`` (the
  README's "Compatibility with mysqlclient" table);
- a value of each MySQL type, inserted and read back;
- exceptions for server errors: class and ``args``.

Every probe is written to give a value on the reference, or one of mysqlclient's
DB-API errors. Errors are compared by their PEP 249 class (the name Django's
wrapper gives them), ``args`` and message. Anything else raised on the reference
(NameError, TypeError, ...) means the probe itself is broken: the test fails
saying so, rather than counting the two sides raising it alike as agreement.
"""

from __future__ import annotations

import datetime
import decimal
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

MySQLdb = pytest.importorskip("MySQLdb")

pytestmark = pytest.mark.django_db(transaction=True)

# ----- expectations (the README table says the same) ------------------------------

#: (driver, name) -> how it differs from mysqlclient.
DIFFERS = {
    ("pymysql", "db"): "bytes: PyMySQL uses the attribute itself",
    ("pymysql", "user"): "bytes: PyMySQL uses the attribute itself",
    ("pymysql", "store_result"): "describe(): display_size is None, null_ok a bool",
    ("pymysql", "use_result"): "as store_result; the rows are read at once",
    ("pymysql", "description"): "display_size is None, null_ok a bool",
    ("mysql-connector", "converter"): "the connector's converter object, not a dict",
    ("mysql-connector", "store_result"): "describe(): display_size is None",
    ("mysql-connector", "use_result"): "as store_result; the rows are read at once",
    ("mysql-connector", "description"): "display_size is None",
}
#: (driver, name): raises NotSupportedError naming the method and the driver.
UNSUPPORTED = {
    ("pymysql", "change_user"), ("pymysql", "dump_debug_info"),
    ("pymysql", "set_server_option"),
    ("mysql-connector", "set_server_option"),
}
#: Names the walk checks only for presence (calling them is not safe here).
NOT_CALLED = {"shutdown"}  # stops the server (on mysql-connector: closes the socket)

# ----- the two sides ---------------------------------------------------------------------

#: PEP 249's exception classes, most specific first (each of the first seven is
#: a DatabaseError, and every one but Warning an Error). Django's wrapper
#: re-raises each as its own class of the same name.
DBAPI_CLASSES = ("NotSupportedError", "DataError", "OperationalError", "IntegrityError",
                 "InternalError", "ProgrammingError", "InterfaceError", "DatabaseError",
                 "Error", "Warning")


class BrokenProbe(AssertionError):
    """The reference raised something other than a DB-API error: the probe is wrong."""


def dbapi_class(exc: BaseException, module: Any) -> str | None:
    """The name of the PEP 249 class of ``module`` that ``exc`` is, or None."""
    for name in DBAPI_CLASSES:
        if isinstance(exc, getattr(module, name)):
            return name
    return None


class Side:
    """One side of the comparison: how it opens a raw connection, and the DB-API
    module whose exception classes it raises."""

    def __init__(self, name: str, module: Any, params: dict,
                 open_connection: Callable[[], Any], *, is_reference: bool) -> None:
        self.name = name
        self.module = module
        self.params = params  # change_user() logs in again with them
        self._open_connection = open_connection
        self.is_reference = is_reference
        self.opened: list = []

    def connect(self) -> Any:
        conn = self._open_connection()
        self.opened.append(conn)
        return conn

    def outcome(self, probe: Callable[[Any], Any], conn: Any, what: str) -> tuple:
        """``("returned", value)``, or ``("raised", PEP 249 class, args, message)``.

        On the reference, any other exception raises BrokenProbe. On the side
        under test it is an outcome of its own, which no reference outcome equals.
        """
        try:
            return "returned", probe(conn)
        except Exception as exc:
            name = dbapi_class(exc, self.module)
            if name is not None:
                return "raised", name, exc.args, str(exc)
            if self.is_reference:
                raise BrokenProbe(
                    f"{what}: the probe raised {type(exc).__name__}: {exc} on {self.name}, "
                    "which is no DB-API error; the probe itself is broken") from exc
            return "raised outside DB-API", type(exc).__name__, str(exc)

    def close(self) -> None:
        for conn in self.opened:
            try:
                conn.close()
            except Exception:
                pass
        self.opened.clear()


def stock_django_side(wrapper: Any) -> Side:
    """What stock Django's MySQL backend opens for ``wrapper``'s DATABASES entry."""
    stock = importlib.import_module("django.db.backends.mysql.base")
    # Django's backend runs on whatever "MySQLdb" was at its import; after
    # pymysql.install_as_MySQLdb() that would be PyMySQL, not the reference.
    assert stock.Database is MySQLdb, (
        f"django.db.backends.mysql runs on {stock.Database.__name__}, not mysqlclient")
    # OPTIONS["pool"] is mysqlpool's own; every other option goes to
    # MySQLdb.connect() as stock Django passes it.
    options = {k: v for k, v in wrapper.settings_dict["OPTIONS"].items() if k != "pool"}
    settings_dict = {**wrapper.settings_dict, "ENGINE": "django.db.backends.mysql",
                     "OPTIONS": options}
    stock_wrapper = stock.DatabaseWrapper(settings_dict, alias=f"{wrapper.alias}-stock")
    params = stock_wrapper.get_connection_params()
    return Side("stock Django on mysqlclient", MySQLdb, params,
                lambda: stock_wrapper.get_new_connection(params), is_reference=True)


def pooled_side(wrapper: Any) -> Side:
    """A raw connection of the driver under test, opened as mysqlpool's pool opens them."""
    driver = wrapper.driver
    params = wrapper.get_connection_params()
    return Side(driver.name, driver.dbapi, params, driver.creator(params), is_reference=False)


@pytest.fixture
def sides():
    pair = stock_django_side(connection), pooled_side(connection)
    yield pair
    for side in pair:
        side.close()


def test_the_reference_is_stock_django_on_mysqlclient(sides):
    reference, _ = sides
    stock = importlib.import_module("django.db.backends.mysql.base")
    conn = reference.connect()
    assert type(conn) is MySQLdb.connections.Connection
    assert reference.params["conv"] is stock.django_conversions
    assert reference.params["charset"] == "utf8mb4"
    assert reference.params["client_flag"] == MySQLdb.constants.CLIENT.FOUND_ROWS
    assert conn.character_set_name() == "utf8mb4"


def test_pool_hands_out_the_class_tested(sides):
    _, tested = sides
    with connection.cursor():
        pooled, made = type(connection.connection), type(tested.connect())
    # PyMySQL's class is made per pool (it holds the pool's TLS context).
    assert pooled is made or pooled.__bases__ == made.__bases__


# ----- the walk over mysqlclient's public names ------------------------------------------


def rows(conn, sql, args=None):
    cursor = conn.cursor()
    cursor.execute(sql, args)
    result = cursor.fetchall()
    cursor.close()
    return result


def prepared(side: Side) -> Any:
    conn = side.connect()
    rows(conn, "CREATE TEMPORARY TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    rows(conn, "INSERT INTO t (v) VALUES (1), (2)")
    return conn


def after_error(conn, what):
    """``what(conn)`` right after a statement the server refused."""
    try:
        rows(conn, "SELEC 1")
    except conn.ProgrammingError:
        return what(conn)
    raise AssertionError("SELEC 1 did not fail")


def begin_then_rollback(conn):
    """On an autocommit connection, a row inserted after begin() and rolled
    back is gone only if begin() opened a transaction. (Not MariaDB's
    @@in_transaction: MySQL has no such variable.)"""
    conn.autocommit(True)
    return (conn.begin(), rows(conn, "INSERT INTO t (v) VALUES (99)"), conn.rollback(),
            rows(conn, "SELECT COUNT(*) FROM t WHERE v = 99"))


VALUES = ["a'b", b"x\0y", 5, -1.5, decimal.Decimal("1.50"), None, True,
          datetime.datetime(2020, 1, 2, 3, 4, 5, 6), datetime.date(2020, 1, 2),
          datetime.time(1, 2, 3), (1, "a"), ["x", 2]]


def statement_outcome(conn, name):
    cursor = conn.cursor()
    cursor.execute("UPDATE t SET v = v + 1")
    return getattr(conn, name)()


def result_api(conn):
    conn.query("SELECT id, v FROM t ORDER BY id")
    result = conn.store_result()
    return (result.fetch_row(), result.fetch_row(0), result.describe(), result.field_flags(),
            result.num_rows(), result.num_fields(), conn.next_result(), conn.more_results())


def send_and_read(conn):
    conn.send_query(b"SELECT 1")
    conn.read_query_result()
    return conn.use_result().fetch_row(0)


def kill_other(side):
    def probe(conn):
        other = side.connect()
        return conn.kill(other.thread_id())
    return probe


def exception_classes(side, name):
    return lambda conn: getattr(conn, name) is getattr(side.module, name)


CONNECTION_PROBES: dict[str, Any] = {
    "affected_rows": lambda conn: statement_outcome(conn, "affected_rows"),
    "autocommit": lambda conn: (conn.autocommit(True), conn.get_autocommit(),
                                conn.autocommit(False), conn.get_autocommit()),
    "begin": begin_then_rollback,
    "change_user": None,  # by side, below
    "character_set_name": lambda conn: conn.character_set_name(),
    "client_flag": lambda conn: type(conn.client_flag),
    "close": lambda conn: (conn.close(), conn.open),
    "commit": lambda conn: conn.commit(),
    "converter": lambda conn: type(conn.converter),
    "cursor": lambda conn: sorted(n for n in dir(MySQLdb.cursors.Cursor) if not n.startswith("_")
                                  and not hasattr(conn.cursor(), n)),
    "cursorclass": lambda conn: callable(conn.cursorclass),
    "database": lambda conn: conn.database,
    "db": lambda conn: conn.db,
    "default_cursor": lambda conn: callable(conn.default_cursor),
    "discard_result": lambda conn: (conn.query("SELECT 1"), conn.discard_result()),
    "dump_debug_info": lambda conn: conn.dump_debug_info(),
    "encoders": lambda conn: type(conn.encoders),
    "encoding": lambda conn: conn.encoding,
    "errno": lambda conn: (conn.errno(), after_error(conn, lambda c: c.errno())),
    "error": lambda conn: (conn.error(), after_error(conn, lambda c: c.error())),
    "escape": lambda conn: [conn.escape(v, conn.encoders) for v in VALUES],
    "escape_string": lambda conn: (conn.escape_string("a'b\\"), conn.escape_string(b"a'b")),
    "executemany_fallback": lambda conn: conn.executemany_fallback,
    "field_count": lambda conn: (rows(conn, "SELECT 1, 2"), conn.field_count()),
    "fileno": lambda conn: type(conn.fileno()),
    "get_autocommit": lambda conn: conn.get_autocommit(),
    "get_character_set_info": lambda conn: conn.get_character_set_info(),
    "get_host_info": lambda conn: conn.get_host_info(),
    "get_proto_info": lambda conn: conn.get_proto_info(),
    "get_server_info": lambda conn: conn.get_server_info(),
    "host": lambda conn: conn.host,
    "info": lambda conn: (conn.info(), rows(conn, "INSERT INTO t (v) VALUES (3), (4)"),
                          conn.info()),
    "insert_id": lambda conn: (rows(conn, "INSERT INTO t (v) VALUES (5)"), conn.insert_id()),
    "kill": None,  # by side, below
    "literal": lambda conn: [conn.literal(v) for v in VALUES],
    "messages": lambda conn: conn.messages,
    "more_results": lambda conn: (rows(conn, "SELECT 1"), conn.more_results()),
    "next_result": lambda conn: (rows(conn, "SELECT 1"), conn.next_result()),
    "open": lambda conn: conn.open,
    "ping": lambda conn: conn.ping(),
    "port": lambda conn: conn.port,
    "query": lambda conn: (conn.query("SELECT 1"), conn.store_result().fetch_row()),
    "read_query_result": send_and_read,
    "rollback": lambda conn: conn.rollback(),
    "select_db": lambda conn: (conn.select_db("information_schema"),
                               rows(conn, "SELECT DATABASE()")),
    "send_query": send_and_read,
    "server_capabilities": lambda conn: type(conn.server_capabilities),
    "set_character_set": lambda conn: (conn.set_character_set("utf8mb4"),
                                       rows(conn, "SELECT @@character_set_client")),
    "set_server_option": lambda conn: conn.set_server_option(0),
    "set_sql_mode": lambda conn: (conn.set_sql_mode("ANSI"), rows(conn, "SELECT @@sql_mode")),
    "show_warnings": lambda conn: (rows(conn, "SELECT 1/0"), conn.show_warnings()),
    "shutdown": None,
    "sqlstate": lambda conn: (conn.sqlstate(), after_error(conn, lambda c: c.sqlstate())),
    "stat": lambda conn: conn.stat().split(":")[0],
    "store_result": result_api,
    "string_literal": lambda conn: (conn.string_literal(b"a'b"), conn.string_literal("c")),
    "thread_id": lambda conn: conn.thread_id() == rows(conn, "SELECT CONNECTION_ID()")[0][0],
    "use_result": result_api,
    "user": lambda conn: conn.user,
    "warning_count": lambda conn: (rows(conn, "SELECT 1/0"), conn.warning_count()),
}


def cursor_probe(body):
    def probe(conn):
        cursor = conn.cursor()
        return body(cursor)
    return probe


def callproc(cursor):
    cursor.execute("DROP PROCEDURE IF EXISTS mp_proc")
    cursor.execute("CREATE PROCEDURE mp_proc(IN a INT) BEGIN SELECT a + 1; SELECT a + 2; END")
    out = [cursor.callproc("mp_proc", (5,)), cursor.fetchall(), cursor.nextset(),
           cursor.fetchall(), cursor.nextset(), cursor.rowcount, cursor.nextset()]
    cursor.execute("DROP PROCEDURE mp_proc")
    return out


CURSOR_PROBES: dict[str, Any] = {
    "arraysize": cursor_probe(lambda c: c.arraysize),
    "callproc": cursor_probe(callproc),
    "close": cursor_probe(lambda c: (c.close(), c.close(), c.connection)),
    "connection": lambda conn: conn.cursor().connection is conn,
    "description": cursor_probe(lambda c: (c.description, c.execute(
        "SELECT id, v, NULL AS n FROM t LIMIT 1"), c.description)),
    "description_flags": cursor_probe(lambda c: (c.description_flags, c.execute(
        "SELECT id, v FROM t"), c.description_flags)),
    "execute": cursor_probe(lambda c: [c.execute("UPDATE t SET v = v + 1"),
                                       c.execute("SELECT * FROM t WHERE id = %s", (1,)),
                                       c.execute("SELECT %(a)s", {"a": "x"}),
                                       c.execute("SELECT '%%s' AS x", ())]),
    "executemany": cursor_probe(lambda c: [
        c.executemany("INSERT INTO t (v) VALUES (%s)", [(7,), (8,)]), c.rowcount,
        c.executemany("UPDATE t SET v = %s WHERE id = %s", [(1, 1), (2, 2)]), c.rowcount,
        c.executemany("UPDATE t SET v = %s", [])]),
    "executemany_fallback": cursor_probe(lambda c: c.executemany_fallback),
    "fetchall": cursor_probe(lambda c: (c.execute("SELECT id FROM t ORDER BY id"), c.fetchone(),
                                        c.fetchall(), c.fetchall(),
                                        c.execute("DO 1"), c.fetchall())),
    "fetchmany": cursor_probe(lambda c: (c.execute("SELECT id FROM t ORDER BY id"), c.fetchmany(),
                                         c.fetchmany(5), c.fetchmany())),
    "fetchone": cursor_probe(lambda c: (c.execute("SELECT id FROM t ORDER BY id"), c.fetchone(),
                                        c.fetchone(), c.fetchone())),
    "lastrowid": cursor_probe(lambda c: (c.lastrowid, c.execute("INSERT INTO t (v) VALUES (1)"),
                                         type(c.lastrowid), c.execute("SELECT 1"), c.lastrowid)),
    "max_multi_stmt_count": cursor_probe(lambda c: c.max_multi_stmt_count),
    "max_multi_stmt_length": cursor_probe(lambda c: c.max_multi_stmt_length),
    "max_stmt_length": cursor_probe(lambda c: c.max_stmt_length),
    "mogrify": cursor_probe(lambda c: [c.mogrify("SELECT %s, %s, %s", ("a'b", 1, None)),
                                       c.mogrify("SELECT %(x)s", {"x": b"y"})]),
    "nextset": cursor_probe(lambda c: (c.execute("SELECT 1"), c.nextset())),
    "rowcount": cursor_probe(lambda c: (c.rowcount, c.execute("SELECT id FROM t"), c.rowcount,
                                        c.execute("UPDATE t SET v = 0 WHERE id < 0"),
                                        c.rowcount)),
    "rownumber": cursor_probe(lambda c: (c.rownumber, c.execute("SELECT id FROM t"),
                                         c.rownumber, c.fetchone(), c.rownumber)),
    "scroll": cursor_probe(lambda c: (c.execute("SELECT id FROM t ORDER BY id"),
                                      c.scroll(1), c.fetchone(), c.scroll(0, "absolute"),
                                      c.fetchone())),
    "setinputsizes": cursor_probe(lambda c: c.setinputsizes(1)),
    "setoutputsizes": cursor_probe(lambda c: c.setoutputsizes(1)),
    "warning_count": cursor_probe(lambda c: (c.warning_count, c.execute("SELECT 1/0"),
                                             c.warning_count)),
}


def public_names(obj) -> list[str]:
    return sorted(name for name in dir(obj) if not name.startswith("_"))


def walk(sides, names, probes_for) -> dict[str, str]:
    """name -> 'same' / 'differs' / 'unsupported' for the driver under test."""
    _, tested = sides
    found = {}
    for name in names:
        if name in NOT_CALLED:
            present = callable(getattr(prepared(tested), name, None))
            found[name] = "not called" if present else "missing"
            tested.close()
            continue
        got = []
        for side in sides:
            conn = prepared(side)
            probe = probes_for(side).get(name)
            assert probe is not None, f"no probe for mysqlclient's {name}"
            got.append(side.outcome(probe, conn, name))
            side.close()
        expected, outcome = got
        if outcome == expected:
            found[name] = "same"
        elif outcome[:2] == ("raised", "NotSupportedError"):
            message = outcome[2][0]
            assert name in message and tested.name in message.replace("PyMySQL", "pymysql")
            found[name] = "unsupported"
        else:
            found[name] = f"differs: {expected!r} != {outcome!r}"
    return found


def check(found: dict[str, str], driver: str) -> None:
    wrong = {}
    for name, how in found.items():
        if name in NOT_CALLED:
            want = "not called"
        elif (driver, name) in UNSUPPORTED:
            want = "unsupported"
        elif (driver, name) in DIFFERS:
            want = "differs"
        else:
            want = "same"
        if how.split(":")[0] != want:
            wrong[name] = f"expected {want}, got {how}"
    assert not wrong, wrong


def connection_probes(side: Side) -> dict[str, Any]:
    probes = dict(CONNECTION_PROBES)
    for name in ("Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
                 "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):
        probes[name] = exception_classes(side, name)
    probes["change_user"] = lambda conn: (conn.change_user(
        side.params["user"], side.params.get("password", ""),
        side.params.get("database") or side.params.get("db")), rows(conn, "SELECT 1"))
    probes["kill"] = kill_other(side)
    return probes


def test_connection_api(sides):
    reference, tested = sides
    names = public_names(reference.connect())
    reference.close()
    found = walk(sides, names, connection_probes)
    report(tested.name, "Connection", found)
    check(found, tested.name)


def test_cursor_api(sides):
    reference, tested = sides
    names = public_names(reference.connect().cursor())
    reference.close()
    found = walk(sides, names, lambda side: CURSOR_PROBES)
    report(tested.name, "Cursor", found)
    check(found, tested.name)


def report(driver: str, what: str, found: dict[str, str]) -> None:
    counts: dict[str, int] = {}
    for how in found.values():
        key = how.split(":")[0]
        counts[key] = counts.get(key, 0) + 1
    print(f"\n{driver} {what}: {len(found)} names of mysqlclient's: {counts}")
    for name, how in sorted(found.items()):
        if how != "same":
            print(f"  {name}: {how}")


# ----- values of every type --------------------------------------------------------------

TYPES = [
    ("BIT(1)", "b'1'"), ("BIT(12)", "b'101010101010'"), ("TINYINT", "-128"),
    ("TINYINT UNSIGNED", "255"), ("INT", "-2147483648"), ("BIGINT", "-9223372036854775808"),
    ("BIGINT UNSIGNED", "18446744073709551615"), ("DECIMAL(20,6)", "'-12345678901234.123456'"),
    ("FLOAT", "1.5"), ("DOUBLE", "-2.25e100"), ("DATE", "'2024-02-29'"),
    ("DATETIME", "'2024-02-29 23:59:59'"), ("DATETIME(6)", "'2024-02-29 23:59:59.123456'"),
    ("TIMESTAMP(3)", "'2024-02-29 23:59:59.123'"), ("TIME", "'12:34:56'"),
    ("TIME(6)", "'12:34:56.000789'"), ("TIME", "'-01:02:03'"), ("TIME", "'838:59:59'"),
    ("YEAR", "2024"), ("CHAR(5)", "'ab'"), ("VARCHAR(20)", "'h\u00e9llo \u2603'"),
    ("VARCHAR(20) COLLATE utf8mb4_bin", "'Bin'"), ("BINARY(4)", "'ab'"),
    ("VARBINARY(10)", "x'00ff10'"), ("TINYTEXT", "'t'"), ("TEXT", "'text'"),
    ("LONGTEXT", "'long'"), ("BLOB", "x'00ff'"), ("LONGBLOB", "'blob'"),
    ("JSON", "'{\"a\": [1, 2.5, null]}'"), ("ENUM('x','y')", "'y'"),
    ("SET('a','b','c')", "'a,c'"), ("SET('a','b')", "''"), ("INT", "NULL"),
    ("DATE", "'0000-00-00'"), ("DATETIME", "'0000-00-00 00:00:00'"),
    ("GEOMETRY", "ST_GeomFromText('POINT(1 1)')"), ("INET6", "'::1'"), ("UUID", "UUID()"),
]

#: Column types of MariaDB's own, and the release that added them.
MARIADB_ONLY = {"INET6": (10, 5), "UUID": (10, 7)}

#: Values stock Django cannot read: its TIME converter (typecast_time) makes a
#: datetime.time, which holds 00:00:00 to 23:59:59 only. mysqlpool must fail
#: the same way.
STOCK_DJANGO_CANNOT_READ = {
    ("TIME", "'-01:02:03'"): (ValueError, "hour must be in 0..23"),
    ("TIME", "'838:59:59'"): (ValueError, "hour must be in 0..23"),
}


def skip_unless_the_server_has(column: str) -> None:
    added = MARIADB_ONLY.get(column)
    if added is not None and not (connection.mysql_is_mariadb
                                  and connection.mysql_version >= added):
        pytest.skip(f"{column} columns are MariaDB's, from {added[0]}.{added[1]}")


def round_trip(conn, column: str, literal: str) -> tuple:
    """The value of ``literal`` read from a ``column``, and the same value read
    again after writing it back through a parameter, as code would."""
    cursor = conn.cursor()
    cursor.execute("SET SESSION sql_mode = ''")  # zero dates allowed
    cursor.execute(f"CREATE TEMPORARY TABLE v (c {column})")
    cursor.execute(f"INSERT INTO v VALUES ({literal})")
    cursor.execute("SELECT c FROM v")
    (value,) = cursor.fetchone()
    cursor.execute("DELETE FROM v")
    cursor.execute("INSERT INTO v VALUES (%s)", (value,))
    cursor.execute("SELECT c FROM v")
    (again,) = cursor.fetchone()
    cursor.execute("DROP TEMPORARY TABLE v")
    return value, again


def typed(values: tuple) -> list[tuple[type, Any]]:
    # 1 == 1.0 == True == Decimal(1): the type is part of the value here.
    return [(type(value), value) for value in values]


@pytest.mark.parametrize(("column", "literal"), TYPES, ids=[f"{c} {v}" for c, v in TYPES])
def test_values(sides, column, literal):
    skip_unless_the_server_has(column)
    if column == "UUID":
        pytest.skip("a new UUID each time; type compared in test_value_types")
    cannot_read = STOCK_DJANGO_CANNOT_READ.get((column, literal))
    if cannot_read is not None:
        error, message = cannot_read
        for side in sides:
            with pytest.raises(error) as caught:
                round_trip(side.connect(), column, literal)
            assert str(caught.value) == message, side.name
        return
    reference, tested = sides
    what = f"{column} {literal}"
    expected = reference.outcome(lambda conn: round_trip(conn, column, literal),
                                 reference.connect(), what)
    assert expected[0] == "returned", f"stock Django cannot round-trip {what}: {expected}"
    got = tested.outcome(lambda conn: round_trip(conn, column, literal), tested.connect(), what)
    assert got[0] == "returned", f"{tested.name}: {got}"
    assert typed(got[1]) == typed(expected[1])


def test_value_types(sides):
    skip_unless_the_server_has("UUID")
    reference, tested = sides
    expected = round_trip(reference.connect(), "UUID", "UUID()")
    got = round_trip(tested.connect(), "UUID", "UUID()")
    assert [type(value) for value in got] == [type(value) for value in expected]


# ----- exceptions ------------------------------------------------------------------------

#: (statement, parameters, the PEP 249 class mysqlclient raises, the error code).
#: The codes are the same on MariaDB and MySQL; the messages are compared
#: between the two sides only.
ERRORS = [
    ("SELEC 1", None, "ProgrammingError", 1064),  # parse error
    ("SELECT * FROM no_such_table", None, "ProgrammingError", 1146),
    ("INSERT INTO e (id) VALUES (1), (1)", None, "IntegrityError", 1062),  # duplicate
    ("INSERT INTO e (id, small) VALUES (2, 1000)", None, "DataError", 1264),  # out of range
    ("INSERT INTO e (id, n) VALUES (3, NULL)", None, "IntegrityError", 1048),
    ("INSERT INTO e (id, s) VALUES (4, 'too long')", None, "DataError", 1406),
    ("INSERT INTO e (id, small) VALUES (5, 'x')", None, "OperationalError", 1366),
    ("INSERT INTO e (id, small) VALUES (6, '1x')", None, "DataError", 1265),  # truncated
    ("SELECT no_such_column FROM e", None, "OperationalError", 1054),
    ("SELECT 18446744073709551615 + 1", None, "OperationalError", 1690),
    ("SELECT %s", (), "ProgrammingError", None),  # too few parameters: no server code
    ("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'custom'", None, "OperationalError", 1644),
    ("KILL 999999999", None, "OperationalError", 1094),  # unknown thread
    ("CREATE TEMPORARY TABLE e (id INT)", None, "OperationalError", 1050),  # exists
    ("SELECT id FROM e WHERE id IN (SELECT id FROM e LIMIT 1)", None,
     "NotSupportedError", 1235),
]


def with_error_table(conn):
    """``conn`` in strict mode, with the table the statements of ERRORS use."""
    cursor = conn.cursor()
    cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    cursor.execute("CREATE TEMPORARY TABLE e (id INT PRIMARY KEY, "
                   "small TINYINT, n INT NOT NULL DEFAULT 0, s VARCHAR(3))")
    cursor.execute("INSERT INTO e (id) VALUES (1)")
    cursor.close()
    return conn


def error_code(outcome: tuple) -> int | None:
    args = outcome[2]
    return args[0] if args and isinstance(args[0], int) else None


@pytest.mark.parametrize(("sql", "args", "dbapi_class", "code"), ERRORS,
                         ids=[row[0][:40] for row in ERRORS])
def test_exceptions(sides, sql, args, dbapi_class, code):
    reference, tested = sides

    def execute(conn):
        return conn.cursor().execute(sql, args)

    expected = reference.outcome(execute, with_error_table(reference.connect()), sql)
    assert expected[:2] == ("raised", dbapi_class) and error_code(expected) == code, (
        f"ERRORS says mysqlclient raises {dbapi_class} {code} here, it gave {expected}")
    assert tested.outcome(execute, with_error_table(tested.connect()), sql) == expected


def test_exceptions_through_django(sides):
    # Django's wrapper: mysqlclient's class mapped to Django's, args kept.
    from django.db import DataError

    with pytest.raises(DataError) as caught, connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE d (small TINYINT)")
        cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        try:
            cursor.execute("INSERT INTO d VALUES (1000)")
        finally:
            cursor.execute("SET SESSION sql_mode = DEFAULT")
            cursor.execute("DROP TEMPORARY TABLE d")
    assert caught.value.args[0] == 1264
    assert caught.value.args == caught.value.__cause__.args
    assert len(caught.value.args) == 2
