"""The cursor as mysqlclient's ``MySQLdb.cursors.Cursor``, over another driver.

:class:`MySQLdbCursor` is mixed into a subclass of the driver's own cursor
class (so ``isinstance`` checks written for the driver still hold). It is
mysqlclient's ``BaseCursor`` and ``CursorStoreResultMixIn`` logic: parameters
become SQL literals through the connection's ``literal()`` (bytes, as
mysqlclient's), ``execute()`` returns the affected row count, rows come back
as tuples, and every operation on a closed cursor raises ``ProgrammingError``.

The driver's subclass supplies two methods that talk to the server:
``_mp_run(db, query)`` and ``_mp_next(db)``; both store the outcome with
:meth:`MySQLdbCursor._mp_store`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from .compat_errors import make

#: The C client library sets NUM_FLAG on these column types (its IS_NUM()):
#: mysqlclient's description_flags have it.
NUMERIC_TYPES = frozenset((0, 1, 2, 3, 4, 5, 8, 9, 13, 246))
NUM_FLAG = 32768

#: mysqlclient's pattern for a multi-row INSERT or REPLACE executemany() batches.
RE_INSERT_VALUES = re.compile(
    r"\s*((?:INSERT|REPLACE)\b.+\bVALUES?\s*)"
    r"(\(\s*(?:%s|%\(.+\)s)\s*(?:,\s*(?:%s|%\(.+\)s)\s*)*\))"
    r"(\s*(?:ON DUPLICATE.*)?);?\s*\Z",
    re.IGNORECASE | re.DOTALL,
)


class MySQLdbCursor:
    """mysqlclient's cursor behaviour; see the module docstring."""

    #: The driver module (its exception classes); set by the driver's subclass.
    _mp_dbapi: Any = None
    #: Name of the driver, for NotSupportedError messages.
    _mp_driver = ""

    max_stmt_length = 64 * 1024
    max_multi_stmt_length = 16_000
    max_multi_stmt_count = 200
    executemany_fallback = None
    # Plain attributes, as mysqlclient's; they shadow the driver's properties.
    connection: Any = None
    description: tuple | None = None
    description_flags: Any = None
    #: None while a statement runs; _mp_store sets it.
    rowcount: int | None = 0
    lastrowid: int | None = None
    #: An int whenever _rows is set (_mp_store sets both).
    rownumber: int | None = None
    warning_count = 0
    arraysize = 1
    _executed: bytes | None = None
    _rows: tuple | None = None

    if TYPE_CHECKING:
        # Supplied by the driver's subclass (see the module docstring).
        def _mp_run(self, db: Any, query: bytes) -> None: ...

        def _mp_next(self, db: Any) -> bool: ...

    def __init__(self, connection: Any, *args: Any, **kwargs: Any) -> None:
        # The driver's cursor class, next in the subclass's MRO.
        super().__init__(connection, *args, **kwargs)  # type: ignore[call-arg]
        self.connection = connection
        self.description = self.description_flags = self.lastrowid = None
        self.rowcount = self.warning_count = 0
        self.arraysize = 1
        self.rownumber = self._executed = self._rows = None

    # ----- what the driver's subclass calls -------------------------------------

    def _mp_store(self, rows, description, flags, affected, insert_id, warnings) -> None:
        self._rows = rows
        self.description = description
        self.description_flags = flags
        self.rowcount = affected
        self.lastrowid = insert_id
        self.warning_count = warnings
        self.rownumber = 0

    # ----- mysqlclient's BaseCursor -----------------------------------------------

    def _error(self, name: str, *args: Any) -> BaseException:
        return make(self._mp_dbapi, name, *args)

    def _get_db(self) -> Any:
        con = self.connection
        if con is None:
            raise self._error("ProgrammingError", "cursor closed")
        return con

    def _check_executed(self) -> None:
        if self.connection is None:
            raise self._error("ProgrammingError", "cursor closed")
        if not self._executed:
            raise self._error("ProgrammingError", "execute() first")

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self._discard()
        finally:
            self.connection = None

    def _discard(self) -> None:
        self.description = None
        self.description_flags = None
        self._rows = None
        self.rownumber = None
        con = self.connection
        if con is not None and con.open:
            while con.next_result() == 0:
                con.discard_result()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def setinputsizes(self, *args: Any) -> None:
        """Does nothing, required by DB API."""

    def setoutputsizes(self, *args: Any) -> None:
        """Does nothing, required by DB API."""

    def execute(self, query: Any, args: Any = None) -> int:
        db = self._get_db()
        return self._query(self._mogrify(query, args, db))

    def _mogrify(self, query: Any, args: Any = None, db: Any = None) -> bytes:
        if db is None:
            db = self._get_db()
        if isinstance(query, str):
            query = query.encode(db.encoding)
        if args is not None:
            literal = db.literal
            if isinstance(args, dict):
                args = {
                    (key.encode(db.encoding) if isinstance(key, str) else key): literal(item)
                    for key, item in args.items()
                }
            else:
                args = tuple(map(literal, args))
            try:
                query = query % args
            except TypeError as exc:
                raise self._error("ProgrammingError", str(exc)) from None
        return query

    def mogrify(self, query: Any, args: Any = None) -> str:
        db = self._get_db()
        return self._mogrify(query, args, db).decode(db.encoding)

    def executemany(self, query: Any, args: Any) -> int | None:
        db = self._get_db()
        if not args:
            return None
        text = query.decode(db.encoding) if isinstance(query, (bytes, bytearray)) else query
        match = RE_INSERT_VALUES.match(text)
        if match:
            prefix = match.group(1) % ()
            values = match.group(2).rstrip()
            return self._do_execute_many(
                prefix, values, match.group(3) or "", args, self.max_stmt_length, db.encoding
            )
        rows = None
        for arg in args:
            result = self.execute(query, arg)
            rows = result if rows is None else rows + result
        if rows is None:
            return None
        self.rowcount = rows
        return rows

    def _do_execute_many(self, prefix, values, postfix, args, max_stmt_length, encoding):
        prefix, values, postfix = (part.encode(encoding) for part in (prefix, values, postfix))
        sql = bytearray(prefix)
        args = iter(args)
        try:
            first = next(args)
        except StopIteration:
            return None
        sql += self._mogrify(values, first)
        rows = 0
        for arg in args:
            value = self._mogrify(values, arg)
            if len(sql) + len(value) + len(postfix) + 1 > max_stmt_length:
                rows += self.execute(bytes(sql + postfix))
                sql = bytearray(prefix)
            else:
                sql += b","
            sql += value
        rows += self.execute(bytes(sql + postfix))
        self.rowcount = rows
        return rows

    def callproc(self, procname: Any, args: Any = ()) -> Any:
        db = self._get_db()
        if isinstance(procname, str):
            procname = procname.encode(db.encoding)
        escaped = procname.replace(b"`", b"``")
        if args:
            fmt = b"@`_" + escaped + b"_%d`=%s"
            self._query(b"SET %s" % b",".join(
                fmt % (index, db.literal(arg)) for index, arg in enumerate(args)
            ))
            self.nextset()
        self._query(b"CALL `%s`(%s)" % (
            escaped,
            b",".join([b"@`_%s_%d`" % (escaped, i) for i in range(len(args))]),
        ))
        return args

    def _query(self, query: bytes) -> int:
        db = self._get_db()
        self._rows = None
        self.warning_count = 0
        self.rowcount = None
        self.lastrowid = None
        self._mp_run(db, query)
        self._executed = query
        return self.rowcount  # type: ignore[return-value]  # an int: _mp_run stored it

    def nextset(self) -> int | None:
        db = self._get_db()
        if self._executed:
            self.fetchall()
        if not self._mp_next(db):
            return None
        return 1

    # ----- mysqlclient's CursorStoreResultMixIn -----------------------------------

    def fetchone(self) -> tuple | None:
        self._check_executed()
        rows = self._rows
        # rownumber is an int whenever rows are stored (_mp_store sets both).
        if rows is None or self.rownumber >= len(rows):  # type: ignore[operator]
            return None
        result = rows[self.rownumber]  # type: ignore[index]
        self.rownumber += 1  # type: ignore[operator]
        return result

    def fetchmany(self, size: int | None = None) -> tuple:
        self._check_executed()
        rows = self._rows
        if rows is None:
            return ()
        end = self.rownumber + (size or self.arraysize)  # type: ignore[operator]  # as fetchone
        result = rows[self.rownumber:end]
        self.rownumber = min(end, len(rows))
        return result

    def fetchall(self) -> tuple:
        self._check_executed()
        rows = self._rows
        if rows is None:
            return ()
        result = rows[self.rownumber:] if self.rownumber else rows
        self.rownumber = len(rows)
        return result

    def scroll(self, value: int, mode: str = "relative") -> None:
        self._check_executed()
        if mode == "relative":
            target = cast(int, self.rownumber) + value  # executed: rows are stored
        elif mode == "absolute":
            target = value
        else:
            raise self._error("ProgrammingError", f"unknown scroll mode {mode!r}")
        if target < 0 or target >= len(self._rows or ()):
            raise IndexError("out of range")
        self.rownumber = target

    def __iter__(self):
        return iter(self.fetchone, None)

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row
