"""The raw connection and cursor mysqlpool hands out, compared with mysqlclient's.

Needs mysqlclient installed next to the driver under test (``tox -e
compat-pymysql`` and friends; skipped otherwise). The reference is a mysqlclient
connection made by mysqlpool's mysqlclient adapter from the same settings;
both run the same probes against the same server. Three tables:

- every public name of mysqlclient's ``Connection`` and ``Cursor``, called where
  it is safe: the same, or as listed in ``DIFFERS`` / ``UNSUPPORTED`` (the
  README's "Compatibility with mysqlclient" table);
- a value of each MySQL type, inserted and read back;
- exceptions for server errors: class and ``args``.
"""

from __future__ import annotations

import datetime
import decimal
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

# ----- fixtures -------------------------------------------------------------------------


class Side:
    """One driver's raw connection, with what the probes need."""

    def __init__(self, driver: Any, params: dict) -> None:
        self.driver = driver
        self.module = driver.dbapi
        self.params = params
        self._connect = driver.creator(params)
        self.opened: list = []

    def connect(self) -> Any:
        conn = self._connect()
        self.opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.opened:
            try:
                conn.close()
            except Exception:
                pass
        self.opened.clear()


@pytest.fixture
def sides():
    from mysqlpool.drivers import DRIVERS

    params = connection.get_connection_params()
    reference = DRIVERS["mysqlclient"].load()
    ref_params = {**connection.django_connection_params(), "conv": reference.conversions}
    ref_params.pop("pool", None)
    pair = Side(reference, ref_params), Side(connection.driver, params)
    yield pair
    for side in pair:
        side.close()


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
    try:
        rows(conn, "SELEC 1")
    except Exception:
        pass
    return what(conn)


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
    "begin": lambda conn: (conn.begin(), rows(conn, "SELECT @@in_transaction")),
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


def outcome(probe, conn) -> tuple[str, Any]:
    try:
        return "value", probe(conn)
    except Exception as exc:
        return "raised", (type(exc).__name__, exc.args)


def walk(sides, names, probes_for) -> dict[str, str]:
    """name -> 'same' / 'differs' / 'unsupported' for the driver under test."""
    reference, tested = sides
    driver = tested.driver.name
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
            got.append(outcome(probe, conn))
            side.close()
        (_, expected), (kind, value) = got
        if got[0] == got[1]:
            found[name] = "same"
        elif kind == "raised" and value[0] == "NotSupportedError":
            message = value[1][0]
            assert name in message and tested.driver.name in message.replace("PyMySQL", "pymysql")
            found[name] = "unsupported"
        else:
            found[name] = f"differs: {got[0]!r} != {got[1]!r}"
    del reference, driver
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
    conn = MySQLdb.connect(**_plain(sides[0].params))
    names = public_names(conn)
    conn.close()
    found = walk(sides, names, connection_probes)
    report(sides[1].driver.name, "Connection", found)
    check(found, sides[1].driver.name)


def test_cursor_api(sides):
    conn = MySQLdb.connect(**_plain(sides[0].params))
    names = public_names(conn.cursor())
    conn.close()
    found = walk(sides, names, lambda side: CURSOR_PROBES)
    report(sides[1].driver.name, "Cursor", found)
    check(found, sides[1].driver.name)


def _plain(params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in ("conv", "client_flag")}


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


def round_trip(conn, column: str, literal: str) -> tuple:
    try:
        return _round_trip(conn, column, literal)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))


def _round_trip(conn, column: str, literal: str) -> tuple:
    cursor = conn.cursor()
    cursor.execute("SET SESSION sql_mode = ''")  # zero dates allowed
    cursor.execute(f"CREATE TEMPORARY TABLE v (c {column})")
    cursor.execute(f"INSERT INTO v VALUES ({literal})")
    cursor.execute("SELECT c FROM v")
    (value,) = cursor.fetchone()
    cursor.execute("DELETE FROM v")
    # The value back through a parameter, as code would write it.
    cursor.execute("INSERT INTO v VALUES (%s)", (value,))
    cursor.execute("SELECT c FROM v")
    (again,) = cursor.fetchone()
    cursor.execute("DROP TEMPORARY TABLE v")
    return value, again


@pytest.mark.parametrize(("column", "literal"), TYPES, ids=[f"{c} {v}" for c, v in TYPES])
def test_values(sides, column, literal):
    reference, tested = sides
    if column == "UUID":
        pytest.skip("a new UUID each time; type compared in test_value_types")
    expected = round_trip(reference.connect(), column, literal)
    got = round_trip(tested.connect(), column, literal)
    assert [(type(v), v) for v in got] == [(type(v), v) for v in expected]


def test_value_types(sides):
    reference, tested = sides
    expected = type(round_trip(reference.connect(), "UUID", "UUID()")[0])
    assert type(round_trip(tested.connect(), "UUID", "UUID()")[0]) is expected


# ----- exceptions ------------------------------------------------------------------------

ERRORS = [
    ("SELEC 1", None),  # 1064 parse error: ProgrammingError
    ("SELECT * FROM no_such_table", None),  # 1146
    ("INSERT INTO e (id) VALUES (1), (1)", None),  # 1062 duplicate: IntegrityError
    ("INSERT INTO e (id, small) VALUES (2, 1000)", None),  # 1264 out of range: DataError
    ("INSERT INTO e (id, n) VALUES (3, NULL)", None),  # 1048: IntegrityError
    ("INSERT INTO e (id, s) VALUES (4, 'too long')", None),  # 1406: DataError
    ("INSERT INTO e (id, small) VALUES (5, 'x')", None),  # 1366: OperationalError
    ("SELECT no_such_column FROM e", None),  # 1054: OperationalError
    ("SELECT 18446744073709551615 + 1", None),  # 1690: OperationalError
    ("SELECT %s", ()),  # not enough parameters: ProgrammingError
    ("SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'custom'", None),  # 1644
    ("KILL 999999999", None),  # 1094 unknown thread
    ("CREATE TEMPORARY TABLE e (id INT)", None),  # 1050 exists
    ("SELECT GET_LOCK('x', 1), RELEASE_LOCK('x'), 1 FROM e WHERE id = 'a' + 0", None),
]


def raised(conn, sql, args):
    cursor = conn.cursor()
    cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS e (id INT PRIMARY KEY, "
                   "small TINYINT, n INT NOT NULL DEFAULT 0, s VARCHAR(3))")
    cursor.execute("INSERT IGNORE INTO e (id) VALUES (1)")
    try:
        cursor.execute(sql, args)
    except Exception as exc:
        return type(exc).__name__, exc.args, str(exc), isinstance(exc, type(conn).Error)
    return None


@pytest.mark.parametrize(("sql", "args"), ERRORS, ids=[sql[:40] for sql, _ in ERRORS])
def test_exceptions(sides, sql, args):
    reference, tested = sides
    expected = raised(reference.connect(), sql, args)
    got = raised(tested.connect(), sql, args)
    assert got == expected


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
