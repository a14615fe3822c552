"""A project's own backend derived from Django's MySQL one, as in
``myproject/db/backends/mysql/base.py``: ENGINE "tests.backends.derived"."""

from __future__ import annotations

from django.db.backends.mysql import base


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's MySQL backend with a project's own addition."""

    #: What a project's subclass typically adds; pooling must not mind it.
    project_marker = "derived"

    def get_connection_params(self):
        params = super().get_connection_params()
        params.setdefault("init_command", "SET @project_backend = 'derived'")
        return params
