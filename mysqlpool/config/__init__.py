"""Reading and checking the pool settings.

Global defaults come from ``MYSQLPOOL_BACKEND`` and ``MYSQLPOOL_ARGUMENTS``; an
alias may override the arguments in ``OPTIONS["pool"]`` (Django's own pool
convention), or turn pooling off with ``OPTIONS["pool"] = False``.
Every problem is reported with the setting, the bad value and what is valid.

- ``pool_class``: ``MYSQLPOOL_BACKEND`` and what each class accepts;
- ``arguments``: mysqlpool's own arguments and defaults, Django's PostgreSQL
  pool's names, names that belong elsewhere;
- ``values``: the check of each argument's value;
- ``engines``: which DATABASES entries are pooled (ENGINE, OPTIONS["pool"]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from sqlalchemy import pool as sa_pool

from ..hosts import parse_hosts
from ..redaction import MASK, is_secret_name, shown
from ..targets import REPLICA_TARGETS
from .arguments import (
    NOT_ARGUMENTS,
    OWN_DEFAULTS,
    OWN_NAMES,
    family_problems,
    merged,
    translated,
)
from .engines import (
    BACKEND_MODULE,
    CONNECTOR_BASE,
    DJANGO_MYSQL_BASE,
    ENGINE,
    STOCK_BACKEND_MODULES,
    is_own_engine,
    is_pooled_backend,
    wants_pool,
)
from .pool_class import (
    DEFAULT_BACKEND,
    keeps_connections,
    pool_class_arguments,
    pool_class_defaults,
    resolve_pool_class,
)
from .values import CHECKS, import_callable


def _port(value: Any) -> int | None:
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None

__all__ = [
    "BACKEND_MODULE", "CONNECTOR_BASE", "DEFAULT_BACKEND", "DJANGO_MYSQL_BASE", "ENGINE",
    "STOCK_BACKEND_MODULES", "OWN_DEFAULTS", "PoolConfig", "check_alias",
    "is_own_engine", "is_pooled_backend", "pool_class_arguments", "pool_config",
    "resolve_pool_class", "wants_pool",
]

#: Goes up whenever a MYSQLPOOL_* setting changes (override_settings and the
#: like send ``setting_changed``); what was worked out from those settings is
#: reused while it stays the same.
generation = 0


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global generation
    if setting.startswith("MYSQLPOOL_"):
        generation += 1


setting_changed.connect(_on_setting_changed, dispatch_uid="mysqlpool.config")


@dataclass(frozen=True)
class PoolConfig:
    """The resolved pool settings of one alias."""

    pool_class: type[sa_pool.Pool]
    #: Arguments for ``pool_class`` (sorted items, so the config is hashable).
    arguments: tuple[tuple[str, Any], ...]
    ping_after_idle: float | None = OWN_DEFAULTS["ping_after_idle"]
    ping_timeout: float = OWN_DEFAULTS["ping_timeout"]
    leak_warning_after: float | None = OWN_DEFAULTS["leak_warning_after"]
    min_size: int = OWN_DEFAULTS["min_size"]
    max_idle: float | None = OWN_DEFAULTS["max_idle"]
    #: Seconds a connection lives (before its random shortening); None: for ever.
    lifetime: float | None = OWN_DEFAULTS["recycle"]
    password_provider: Callable[[Mapping[str, Any]], str] | None = None
    load_balance_hosts: str = OWN_DEFAULTS["load_balance_hosts"]
    target_session_attrs: str = OWN_DEFAULTS["target_session_attrs"]
    host_retry_after: float = OWN_DEFAULTS["host_retry_after"]
    max_replication_lag: float | None = OWN_DEFAULTS["max_replication_lag"]
    #: The limits, for error messages and stats.
    pool_size: int | None = field(default=None, compare=False)
    max_overflow: int | None = field(default=None, compare=False)
    timeout: float = field(default=30.0, compare=False)


def pool_config(alias: str, settings_dict: Mapping[str, Any], *,
                check_conn_max_age: bool = True) -> PoolConfig | None:
    """The pool settings for ``alias``; None when ``OPTIONS["pool"]`` is False.

    Raises ImproperlyConfigured listing every problem found.
    """
    problems = list(_problems(alias, settings_dict, check_conn_max_age))
    if problems:
        raise ImproperlyConfigured("\n".join(problems))
    return _build(settings_dict)


def check_alias(alias: str, settings_dict: Mapping[str, Any]) -> list[str]:
    """Every problem with the pool settings of ``alias``, as messages."""
    return list(_problems(alias, settings_dict))


def _pool_option(settings_dict: Mapping[str, Any]) -> Any:
    return (settings_dict.get("OPTIONS") or {}).get("pool", True)


def _sources(where: str, option: Any) -> list[tuple[str, Any]]:
    sources = [("MYSQLPOOL_ARGUMENTS", getattr(settings, "MYSQLPOOL_ARGUMENTS", {}))]
    if isinstance(option, Mapping):
        sources.append((f"{where}['OPTIONS']['pool']", option))
    return sources


def _problems(alias: str, settings_dict: Mapping[str, Any],
              check_conn_max_age: bool = True) -> Iterator[str]:
    where = f"DATABASES[{alias!r}]"
    options = settings_dict.get("OPTIONS") or {}
    if isinstance(options, Mapping):
        # The driver options mysqlpool reads (TLS, use_pure), named with the alias.
        from ..drivers.base import option_problems

        yield from option_problems(options, f"{where}['OPTIONS']")
    try:
        parse_hosts(f"{where}['HOST']", settings_dict.get("HOST"),
                    _port(settings_dict.get("PORT")))
    except ImproperlyConfigured as exc:
        yield str(exc)
    option = _pool_option(settings_dict)
    if option is False:
        return
    if not (option is True or isinstance(option, Mapping)):
        yield (
            f"{where}['OPTIONS']['pool'] = {shown(option)}: must be True (use the "
            "MYSQLPOOL_ARGUMENTS defaults), False (no pooling for this alias) or a "
            "dict of pool arguments such as {'pool_size': 10}."
        )
        return
    max_age = settings_dict.get("CONN_MAX_AGE", 0)
    if check_conn_max_age and max_age != 0:
        yield (
            f"{where}['CONN_MAX_AGE'] = {shown(max_age)}: a pooled alias returns its "
            "connection to the pool at the end of each request, so persistent "
            "connections would defeat the pool. Set CONN_MAX_AGE to 0 (the default), "
            f"or turn pooling off for this alias with {where}['OPTIONS']['pool'] = False."
        )
    try:
        pool_class = resolve_pool_class(getattr(settings, "MYSQLPOOL_BACKEND", DEFAULT_BACKEND))
    except ImproperlyConfigured as exc:
        yield str(exc)
        return
    # reset_on_return is the class's, but mysqlpool sets it (see NOT_ARGUMENTS).
    accepted = (pool_class_arguments(pool_class) - set(NOT_ARGUMENTS)) | OWN_NAMES
    sources = _sources(where, option)
    found_problem = False
    for name, arguments in sources:
        if not isinstance(arguments, Mapping):
            found_problem = True
            yield (
                f"{name} = {shown(arguments)}: must be a dict of {pool_class.__name__} "
                f"arguments, such as {{'pool_size': 10, 'max_overflow': 0}}."
            )
            continue
        for problem in family_problems(name, arguments):
            found_problem = True
            yield problem
        for key, value in arguments.items():
            for problem in _argument_problems(name, key, value, pool_class, accepted):
                found_problem = True
                yield problem
    if not found_problem:
        yield from _combination_problems(pool_class, sources)


def _argument_problems(name: str, key: Any, value: Any, pool_class: type,
                       accepted: set[str]) -> Iterator[str]:
    setting = f"{name}[{shown(key)}]"
    if is_secret_name(key) and key != "password_provider":
        value = MASK  # a password put in the wrong place: name it, never show it
    if key in NOT_ARGUMENTS:
        yield f"{setting} is not a pool argument: {NOT_ARGUMENTS[key]}."
    elif key not in accepted:
        yield (
            f"{setting} = {shown(value)}: {pool_class.__name__} has no argument {shown(key)}. "
            f"Valid arguments: {', '.join(sorted(accepted))}."
        )
    else:
        check = CHECKS.get(key)
        message = check(value) if check else None
        if message:
            yield f"{setting} = {shown(value)}: {key} {message}."


def _combination_problems(pool_class: type, sources: list[tuple[str, Any]]) -> Iterator[str]:
    """Arguments valid one by one that do not go together."""
    arguments = translated(merged([source for _, source in sources]))
    if arguments.get("max_replication_lag") is not None:
        target = arguments.get("target_session_attrs", OWN_DEFAULTS["target_session_attrs"])
        if target not in REPLICA_TARGETS:
            given_in = next(name for name, source in reversed(sources)
                            if "max_replication_lag" in source)
            yield (
                f"{given_in}['max_replication_lag'] = {arguments['max_replication_lag']!r}: "
                f"it bounds the lag of the replicas read from, so target_session_attrs "
                f"must be one of {', '.join(repr(t) for t in sorted(REPLICA_TARGETS))} "
                f"(it is {target!r})."
            )
    min_size = arguments.get("min_size", 0)
    if not min_size:
        return
    given_in = next(name for name, source in reversed(sources) if "min_size" in source)
    if not keeps_connections(pool_class):
        yield (
            f"{given_in}['min_size'] = {min_size}: {pool_class.__name__} keeps no idle "
            "connections, so min_size must be 0 (or use QueuePool)."
        )
        return
    pool_size = arguments.get("pool_size", pool_class_defaults(pool_class).get("pool_size"))
    if pool_size and min_size > pool_size:
        yield (
            f"{given_in}['min_size'] = {min_size}: min_size must be at most the "
            f"connections the pool keeps open, pool_size = {pool_size} (max_size with "
            "Django's PostgreSQL pool's names)."
        )


def _build(settings_dict: Mapping[str, Any]) -> PoolConfig | None:
    option = _pool_option(settings_dict)
    if option is False:
        return None
    pool_class = resolve_pool_class(getattr(settings, "MYSQLPOOL_BACKEND", DEFAULT_BACKEND))
    sources = [source for _, source in _sources("", option)]
    arguments = translated(merged([OWN_DEFAULTS, *sources]))
    own = {key: arguments.pop(key) for key in OWN_DEFAULTS}
    provider = own.pop("password_provider")
    if isinstance(provider, str):
        provider = import_callable(provider)
    lifetime = own.pop("recycle")
    if lifetime is not None and lifetime < 0:
        lifetime = None
    if "use_lifo" in pool_class_arguments(pool_class):
        # Reuse the connection returned last: it is the one most likely inside
        # the no-ping window, and the others can idle out.
        arguments.setdefault("use_lifo", True)
    defaults = pool_class_defaults(pool_class)
    return PoolConfig(
        pool_class=pool_class,
        arguments=tuple(sorted(arguments.items())),
        lifetime=lifetime,
        password_provider=provider,
        pool_size=arguments.get("pool_size", defaults.get("pool_size")),
        max_overflow=arguments.get("max_overflow", defaults.get("max_overflow")),
        timeout=arguments.get("timeout", defaults.get("timeout", 30.0)),
        **own,
    )
