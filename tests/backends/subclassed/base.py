"""A project's own database backend built on mysqlpool's, as in
``myproject/db/backends/pooled/base.py``: ENGINE "tests.backends.subclassed"."""

from __future__ import annotations

from mysqlpool.backends.mysqlpool import base


class DatabaseWrapper(base.DatabaseWrapper):
    """mysqlpool's backend under another ENGINE, with a project's own addition."""

    #: What a project's subclass typically adds; mysqlpool must not mind it.
    project_marker = "subclassed"
