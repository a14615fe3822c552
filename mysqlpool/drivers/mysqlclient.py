"""mysqlclient (``MySQLdb``): the driver Django's mysql backend is written for."""

from __future__ import annotations

import importlib
from typing import Any

from django.db.backends.utils import typecast_time

from .base import Driver


class MySQLClientDriver(Driver):
    name = "mysqlclient"
    distribution = "mysqlclient"
    extra = "mysqlclient"
    module_name = "MySQLdb"
    min_version = (2, 2, 1)
    dialect_class = "sqlalchemy.dialects.mysql.mysqldb:MySQLDialect_mysqldb"

    def django_conversions(self) -> dict:
        converters = importlib.import_module(f"{self.module_name}.converters")
        field_type = importlib.import_module(f"{self.module_name}.constants.FIELD_TYPE")
        # Django's backend adds the same TIME entry: TIME columns as datetime.time.
        return {**converters.conversions, field_type.TIME: typecast_time}

    def connect(self, params: dict[str, Any]) -> Any:
        connection = self.dbapi.connect(**params)
        # As Django 5.2 does: an identity encoder for bytes breaks escaping.
        if getattr(connection, "encoders", {}).get(bytes) is bytes:
            connection.encoders.pop(bytes)
        return connection
