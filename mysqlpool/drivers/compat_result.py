"""A stored result, as mysqlclient's ``_mysql.result``: what
``store_result()`` gives on the other drivers, whose own results are read
whole when a statement ends."""

from __future__ import annotations


class Result:
    """A stored result, as mysqlclient's ``_mysql.result``."""

    def __init__(self, rows: tuple, description: tuple, flags: tuple) -> None:
        self._rows = rows
        self._description = description
        self._flags = flags
        self._next = 0

    def describe(self) -> tuple:
        return self._description

    def field_flags(self) -> tuple:
        return self._flags

    def num_fields(self) -> int:
        return len(self._description)

    def num_rows(self) -> int:
        return len(self._rows)

    def fetch_row(self, maxrows: int = 1, how: int = 0) -> tuple:
        end = len(self._rows) if maxrows == 0 else self._next + maxrows
        rows = self._rows[self._next:end]
        self._next += len(rows)
        if how == 1:
            names = [d[0] for d in self._description]
            return tuple(dict(zip(names, row, strict=True)) for row in rows)
        if how == 2:
            raise NotImplementedError("fetch_row(how=2) (table.column keys)")
        return tuple(rows)

    def data_seek(self, row: int) -> None:
        self._next = row

    def discard(self) -> None:
        self._rows = ()
