"""``manage.py check``: every pooled alias's settings, before the first connection."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .config import ENGINE, check_alias


def check_pool_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Errors for bad mysqlpool settings (ids mysqlpool.E001 and mysqlpool.E002)."""
    aliases = [
        alias for alias, database in settings.DATABASES.items()
        if database.get("ENGINE") == ENGINE
    ]
    errors: list[checks.CheckMessage] = []
    seen = set()
    for alias in aliases:
        for error in alias_errors(alias, settings.DATABASES[alias]):
            if error.msg not in seen:  # global settings would repeat per alias
                seen.add(error.msg)
                errors.append(error)
    return errors


def alias_errors(alias: str, settings_dict: Any) -> list[checks.CheckMessage]:
    """The problems with one pooled alias's settings, as system check errors."""
    from .drivers import get_driver

    errors = []
    try:
        get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))
    except ImproperlyConfigured as exc:
        errors.append(checks.Error(str(exc), id="mysqlpool.E001"))
    for message in check_alias(alias, settings_dict):
        errors.append(checks.Error(message, obj=f"DATABASES[{alias!r}]", id="mysqlpool.E002"))
    return errors
