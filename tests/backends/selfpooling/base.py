"""A backend derived from Django's MySQL one that pools connections itself
under ``OPTIONS["pool"]``, as Django's PostgreSQL backend does: mysqlpool must
refuse to pool it too. ENGINE "tests.backends.selfpooling"."""

from __future__ import annotations

from django.db.backends.mysql import base
from django.utils.functional import cached_property


class DatabaseWrapper(base.DatabaseWrapper):
    @cached_property
    def pool(self):
        return None  # where the backend's own pool would be

    def close_pool(self):
        pass
