"""``manage.py check``: every pooled alias's settings, before the first connection."""

from __future__ import annotations

import sys
from types import FrameType
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.checks.registry import CheckRegistry
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, SystemCheckError

from .config import check_alias, is_own_engine, is_pooled_backend
from .green import installed, patched_by


def check_pool_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Errors for bad mysqlpool settings (ids mysqlpool.E001 and mysqlpool.E002)
    of every pooled alias (config.is_pooled_backend)."""
    aliases = [
        alias for alias, database in settings.DATABASES.items()
        if is_pooled_backend(database)
    ]
    errors: list[checks.CheckMessage] = []
    seen = set()
    for alias in aliases:
        for error in alias_errors(alias, settings.DATABASES[alias]):
            if error.msg not in seen:  # global settings would repeat per alias
                seen.add(error.msg)
                errors.append(error)
        errors += foreign_alias_settings(alias, settings.DATABASES[alias])
    if aliases:
        errors += foreign_global_settings()
    return errors


#: django-db-connection-pool's POOL_OPTIONS keys, and mysqlpool's names for them.
_POOL_OPTIONS_KEYS = {"POOL_SIZE": "pool_size", "MAX_OVERFLOW": "max_overflow",
                      "RECYCLE": "recycle", "TIMEOUT": "timeout", "ECHO": "echo",
                      "PRE_PING": None}
#: The global settings of django-mysql-pool (2012, ENGINE mysql_pool) and of
#: django-postgrespool, and what takes their place.
_FOREIGN_GLOBALS = {
    "DATABASE_POOL_ARGS": "MYSQLPOOL_ARGUMENTS (the same SQLAlchemy pool arguments)",
    "DATABASE_POOL_CLASS": "MYSQLPOOL_BACKEND (a name from sqlalchemy.pool, e.g. 'QueuePool')",
    "DATABASE_POOL_CHECK": "nothing: mysqlpool checks every connection it hands out",
}


def foreign_alias_settings(alias: str, settings_dict: Any) -> list[checks.CheckMessage]:
    """mysqlpool.E003: another pool package's settings on a pooled alias,
    which would otherwise be ignored without a word."""
    options = settings_dict.get("POOL_OPTIONS") if hasattr(settings_dict, "get") else None
    if options is None:
        return []
    where = f"DATABASES[{alias!r}]"
    if isinstance(options, dict):
        # Only the keys django-db-connection-pool reads (in upper case): it
        # ignores any other, so carrying one over would change behaviour.
        translated = {_POOL_OPTIONS_KEYS[str(key).upper()]: value
                      for key, value in options.items()
                      if _POOL_OPTIONS_KEYS.get(str(key).upper()) is not None}
        equivalent = f"{where}['OPTIONS']['pool'] = {translated!r}"
    else:
        equivalent = f"{where}['OPTIONS']['pool'] = {{'pool_size': 10, ...}}"
    return [checks.Error(
        f"{where}['POOL_OPTIONS'] = {options!r} is django-db-connection-pool's setting, "
        f"which mysqlpool does not read: the pool would use its defaults. Use "
        f"{equivalent} (PRE_PING is not needed: mysqlpool checks every connection it "
        "hands out).",
        obj=where, id="mysqlpool.E003")]


def foreign_global_settings() -> list[checks.CheckMessage]:
    """mysqlpool.E004: another pool package's global settings, which
    mysqlpool would otherwise ignore without a word."""
    return [checks.Error(
        f"{name} = {getattr(settings, name)!r} is another pool package's setting "
        f"(django-mysql-pool's, django-postgrespool's), which mysqlpool does not read. "
        f"Use {equivalent}.", id="mysqlpool.E004")
        for name, equivalent in _FOREIGN_GLOBALS.items() if hasattr(settings, name)]


def alias_errors(alias: str, settings_dict: Any) -> list[checks.CheckMessage]:
    """The problems with one pooled alias's settings, as system check errors."""
    from .drivers import get_driver

    errors: list[checks.CheckMessage] = []
    if is_own_engine(settings_dict):  # a stock ENGINE's driver is its MySQLdb
        try:
            get_driver(getattr(settings, "MYSQLPOOL_DRIVER", None))
        except ImproperlyConfigured as exc:
            errors.append(checks.Error(str(exc), id="mysqlpool.E001"))
    for message in check_alias(alias, settings_dict):
        errors.append(checks.Error(message, obj=f"DATABASES[{alias!r}]", id="mysqlpool.E002"))
    return errors


class PoolSettingsError(SystemCheckError, ImproperlyConfigured):
    """Bad settings of a pooled alias, met by a connect while a management
    command or the system checks run: the check's errors (mysqlpool.E001,
    mysqlpool.E002), which Django prints alone, without a traceback (as it
    prints a SystemCheckError). An ImproperlyConfigured still, for code that
    catches those."""


def as_check_error(alias: str, settings_dict: Any,
                   problem: ImproperlyConfigured | list[checks.CheckMessage],
                   ) -> PoolSettingsError | None:
    """The problem with ``alias``'s settings (the ImproperlyConfigured a
    connect raised, or the check's errors) as the system check reports it, if
    this thread is running a management command from the command line
    (``manage.py migrate``, ``runserver``, ...) or the system checks (whose
    database checks connect: ``manage.py check --database``, ``migrate``).
    Otherwise None (and None if every error is silenced): in a request, a
    worker or a test, the ImproperlyConfigured is raised as it is."""
    if not _running_a_command_or_checks():
        return None
    if isinstance(problem, list):
        errors = problem
    else:
        errors = alias_errors(alias, settings_dict) or [
            checks.Error(str(problem), obj=f"DATABASES[{alias!r}]", id="mysqlpool.E002")]
    shown = [error for error in errors if not error.is_silenced()]
    if not shown:
        return None
    count = len(shown)
    return PoolSettingsError(
        "SystemCheckError: System check identified some issues:\n\nERRORS:\n"
        + "\n".join(sorted(map(str, shown)))
        + f"\n\nSystem check identified {count} issue{'' if count == 1 else 's'} "
        f"({len(errors) - count} silenced)."
    )


#: The frames of a management command run from the command line, and of a
#: system check run.
_COMMAND_OR_CHECKS = (BaseCommand.run_from_argv.__code__, CheckRegistry.run_checks.__code__)


def _running_a_command_or_checks() -> bool:
    # Only on the way to raising a settings error: never on a working connect.
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code in _COMMAND_OR_CHECKS:
            return True
        frame = frame.f_back
    return False


def check_green_threads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A warning (mysqlpool.W001) when processes that run green threads would
    use a driver that blocks them: gevent or eventlet is installed (or has
    patched this process) and the driver there would be mysqlclient.

    Under gevent's or eventlet's monkey-patching, mysqlclient's C calls hold
    up every green thread of the process while one waits for the server: one
    query at a time per process, silently.
    """
    from .drivers import green_thread_driver

    if not any(is_pooled_backend(database) for database in settings.DATABASES.values()):
        return []
    patched = patched_by()
    libraries = [patched] if patched else installed()
    if not libraries:
        return []
    name = getattr(settings, "MYSQLPOOL_DRIVER", None)
    try:
        driver = green_thread_driver(name)
    except ImproperlyConfigured:
        return []  # mysqlpool.E001 says why
    if driver.cooperative:
        return []
    chosen = (f"MYSQLPOOL_DRIVER = {name!r}" if name is not None else
              f"MYSQLPOOL_DRIVER is unset and {driver.name} is the only driver installed; it")
    where = (f"this process is monkey-patched by {patched}" if patched
             else f"{' and '.join(libraries)} {'is' if len(libraries) == 1 else 'are'} installed")
    return [checks.Warning(
        f"{chosen} blocks gevent's and eventlet's green threads while it waits for the "
        f"server ({where}): in a gevent or eventlet server or worker (gunicorn -k gevent, "
        "celery -P gevent or -P eventlet) the process would run one query at a time.",
        hint='Set MYSQLPOOL_DRIVER = "pymysql" (pip install PyMySQL) for '
        "processes that run green threads. If none does, add \"mysqlpool.W001\" to "
        "SILENCED_SYSTEM_CHECKS.",
        id="mysqlpool.W001",
    )]
