"""``manage.py check``: every pooled alias's settings, before the first connection."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .config import ENGINE, check_alias


def check_pool_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Errors for bad mysqlpool settings (ids mysqlpool.E001 and mysqlpool.E002)."""
    from .drivers import get_driver

    aliases = [
        alias for alias, database in settings.DATABASES.items()
        if database.get("ENGINE") == ENGINE
    ]
    if not aliases:
        return []
    errors = []
    try:
        get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="mysqlpool.E001"))
    seen = set()
    for alias in aliases:
        for message in check_alias(alias, settings.DATABASES[alias]):
            if message not in seen:  # global settings would repeat per alias
                seen.add(message)
                errors.append(checks.Error(message, obj=f"DATABASES[{alias!r}]",
                                           id="mysqlpool.E002"))
    return errors
