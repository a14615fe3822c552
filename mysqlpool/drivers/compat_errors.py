"""Exceptions as mysqlclient raises them: its class for each error code, and
``args == (code, message)``.

mysqlclient picks the PEP 249 class from the server's error code
(``_mysql_Exception()`` in its ``_mysql.c``); PyMySQL's table differs for a few
codes and mysql-connector picks by SQLSTATE. mysql-connector's exceptions also
carry ``args == (code, "code (sqlstate): message", sqlstate)``. Only called on
the error path.
"""

from __future__ import annotations

import types
from typing import Any

# mysqlclient's table, by error code (names from MySQL's mysqld_error.h).
_PROGRAMMING = (
    2014,  # CR_COMMANDS_OUT_OF_SYNC
    1007,  # ER_DB_CREATE_EXISTS
    1149,  # ER_SYNTAX_ERROR
    1064,  # ER_PARSE_ERROR
    1146,  # ER_NO_SUCH_TABLE
    1102,  # ER_WRONG_DB_NAME
    1103,  # ER_WRONG_TABLE_NAME
    1110,  # ER_FIELD_SPECIFIED_TWICE
    1111,  # ER_INVALID_GROUP_FUNC_USE
    1112,  # ER_UNSUPPORTED_EXTENSION
    1113,  # ER_TABLE_MUST_HAVE_COLUMNS
    1179,  # ER_CANT_DO_THIS_DURING_AN_TRANSACTION
)
_DATA = (
    1265,  # WARN_DATA_TRUNCATED
    1263,  # WARN_NULL_TO_NOTNULL
    1264,  # ER_WARN_DATA_OUT_OF_RANGE
    1230,  # ER_NO_DEFAULT
    1171,  # ER_PRIMARY_CANT_HAVE_NULL
    1406,  # ER_DATA_TOO_LONG
    1441,  # ER_DATETIME_FUNCTION_OVERFLOW
)
_INTEGRITY = (
    1062,  # ER_DUP_ENTRY
    1169,  # ER_DUP_UNIQUE
    1216,  # ER_NO_REFERENCED_ROW
    1452,  # ER_NO_REFERENCED_ROW_2
    1217,  # ER_ROW_IS_REFERENCED
    1451,  # ER_ROW_IS_REFERENCED_2
    1215,  # ER_CANNOT_ADD_FOREIGN
    1364,  # ER_NO_DEFAULT_FOR_FIELD
    1048,  # ER_BAD_NULL_ERROR
)
_NOT_SUPPORTED = (
    1196,  # ER_WARNING_NOT_COMPLETE_ROLLBACK
    1235,  # ER_NOT_SUPPORTED_YET
    1289,  # ER_FEATURE_DISABLED
    1286,  # ER_UNKNOWN_STORAGE_ENGINE
)
#: Error code -> the name of the class mysqlclient raises for it.
CLASS_NAMES: dict[int, str] = {
    **dict.fromkeys(_PROGRAMMING, "ProgrammingError"),
    **dict.fromkeys(_DATA, "DataError"),
    **dict.fromkeys(_INTEGRITY, "IntegrityError"),
    **dict.fromkeys(_NOT_SUPPORTED, "NotSupportedError"),
}
#: mysqlclient's error for any call on a closed connection (CR_SERVER_GONE_ERROR, "").
SERVER_GONE = 2006


def class_name(code: int) -> str:
    """The name of the PEP 249 class mysqlclient raises for error ``code``."""
    if code == 0:
        return "InterfaceError"
    name = CLASS_NAMES.get(code)
    if name is not None:
        return name
    return "InternalError" if code < 1000 else "OperationalError"


def make(dbapi: types.ModuleType, name: str, *args: Any, sqlstate: str | None = None,
         ) -> BaseException:
    """``dbapi.<name>(*args)``, whatever the driver's constructor takes: its
    ``args`` are exactly ``args``, and ``str()`` is what mysqlclient's gives."""
    cls = getattr(dbapi, name)
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    if cls.__module__.startswith("mysql.connector"):
        # Its Error keeps errno, msg and sqlstate, and str() is _full_msg.
        coded = len(args) == 2 and isinstance(args[0], int)
        exc.errno = args[0] if coded else -1
        exc.msg = args[-1] if args else ""
        exc.sqlstate = sqlstate
        exc._full_msg = Exception.__str__(exc)
    return exc


def server_gone(dbapi: types.ModuleType) -> BaseException:
    """What mysqlclient raises for a call on a closed connection."""
    return make(dbapi, "OperationalError", SERVER_GONE, "")
