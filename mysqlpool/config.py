"""Reading and checking the pool settings.

Global defaults come from ``MYSQLPOOL_BACKEND`` and ``MYSQLPOOL_ARGUMENTS``; an
alias may override the arguments in ``OPTIONS["pool"]`` (Django's own pool
convention), or turn pooling off with ``OPTIONS["pool"] = False``.
Every problem is reported with the setting, the bad value and what is valid.
"""

from __future__ import annotations

import importlib
import inspect
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from sqlalchemy import pool as sa_pool

from .redaction import MASK, is_secret_name, redact, shown

ENGINE = "mysqlpool.backends.mysqlpool"
DEFAULT_BACKEND = "QueuePool"

# mysqlpool's own arguments, taken out before the SQLAlchemy pool sees the rest.
OWN_DEFAULTS: dict[str, Any] = {
    # A connection idle for longer than this (seconds) is pinged at checkout;
    # one used more recently is only checked for a closed socket, which costs
    # no round trip. 0 pings on every checkout; None never pings.
    "ping_after_idle": 0.5,
    # Log a warning, with the stack that checked it out, for a connection held
    # longer than this many seconds. None (the default) turns it off.
    "leak_warning_after": None,
}

#: Goes up whenever a MYSQLPOOL_* setting changes (override_settings and the
#: like send ``setting_changed``); what was worked out from those settings is
#: reused while it stays the same.
generation = 0


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    global generation
    if setting.startswith("MYSQLPOOL_"):
        generation += 1


setting_changed.connect(_on_setting_changed, dispatch_uid="mysqlpool.config")

# Names people bring from create_engine(), older SQLAlchemy or other pools.
_NOT_ARGUMENTS = {
    "use_threadlocal": "it was removed in SQLAlchemy 1.4; Django already keeps "
    "one connection per thread, so just remove it",
    "pool_recycle": "use 'recycle' (pool arguments drop create_engine's pool_ prefix)",
    "pool_timeout": "use 'timeout' (pool arguments drop create_engine's pool_ prefix)",
    "pool_pre_ping": "use 'pre_ping' (pool arguments drop create_engine's pool_ prefix)",
    "pool_use_lifo": "use 'use_lifo' (pool arguments drop create_engine's pool_ prefix)",
    "poolclass": "choose the class with MYSQLPOOL_BACKEND",
    "reset_on_return": "mysqlpool resets returned connections itself (a ROLLBACK "
    "only when a transaction may be open); remove it",
    "pool_reset_on_return": "mysqlpool resets returned connections itself; remove it",
    "min_size": "SQLAlchemy pools open connections on demand; use 'pool_size'",
    "max_size": "use 'pool_size' (kept open) plus 'max_overflow' (opened under load)",
    "creator": "mysqlpool opens connections from the DATABASES settings",
    "dialect": "mysqlpool sets the dialect of the chosen driver",
}
# Arguments of SQLAlchemy's pools that users do not set here.
_INTERNAL = {"self", "creator", "dialect", "events", "_dispatch", "args", "kw", "kwargs"}


def _whole(minimum: int, hint: str = "") -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"must be a whole number >= {minimum}{hint}"
        return None

    return check


def _seconds(allow_none: bool = False, allow_minus_one: bool = False, minimum: float = 0,
             inclusive: bool = False) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None and allow_none:
            return None
        if allow_minus_one and value == -1 and not isinstance(value, bool):
            return None
        ok = (
            isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value)
            and (value >= minimum if inclusive else value > minimum)
        )
        if not ok:
            valid = f"a finite number of seconds {'>=' if inclusive else '>'} {minimum}"
            if allow_minus_one:
                valid += " (or -1 for never)"
            if allow_none:
                valid += " or None"
            return f"must be {valid}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "pool_size": _whole(0, " (0 means no limit)"),
    "max_overflow": _whole(-1, " (-1 means no limit)"),
    "timeout": _seconds(),
    "recycle": _seconds(allow_minus_one=True),
    "use_lifo": _boolean,
    "pre_ping": _boolean,
    "store_traceback": _boolean,
    "echo": lambda v: None if v in (True, False, "debug") else "must be True, False or 'debug'",
    "logging_name": lambda v: None if v is None or isinstance(v, str) else "must be a string",
    "ping_after_idle": _seconds(allow_none=True, inclusive=True),
    "leak_warning_after": _seconds(allow_none=True),
}


@dataclass(frozen=True)
class PoolConfig:
    """The resolved pool settings of one alias."""

    pool_class: type[sa_pool.Pool]
    #: Arguments for ``pool_class`` (sorted items, so the config is hashable).
    arguments: tuple[tuple[str, Any], ...]
    ping_after_idle: float | None = OWN_DEFAULTS["ping_after_idle"]
    leak_warning_after: float | None = OWN_DEFAULTS["leak_warning_after"]
    #: The limits, for error messages and stats.
    pool_size: int | None = field(default=None, compare=False)
    max_overflow: int | None = field(default=None, compare=False)


def pool_class_arguments(pool_class: type) -> set[str]:
    """The keyword arguments a SQLAlchemy pool class accepts from users."""
    names: set[str] = set()
    for klass in pool_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            names.update(inspect.signature(init).parameters)
    if issubclass(pool_class, sa_pool.AssertionPool):
        names.add("store_traceback")  # taken from **kw
    return names - _INTERNAL


# Pool classes that cannot be used safely under Django's one-connection-per-thread
# model, and why (each is also refused in its subclasses).
_UNSAFE_CLASSES = {
    sa_pool.StaticPool: "it hands one DB-API connection to every thread at once, so "
    "two threads' statements and transactions interleave on it",
    sa_pool.SingletonThreadPool: "past pool_size it closes connections other threads "
    "are still using",
}


def resolve_pool_class(value: Any) -> type[sa_pool.Pool]:
    """``MYSQLPOOL_BACKEND``: a class name in ``sqlalchemy.pool``, a dotted path or a class."""
    builtin = sorted(
        name for name in dir(sa_pool)
        if name.endswith("Pool") and _usable_pool_class(getattr(sa_pool, name))
    )
    valid = (
        f"Use one of {', '.join(builtin)} (the classes in sqlalchemy.pool), or the "
        "dotted path of a sqlalchemy.pool.Pool subclass."
    )
    cls: Any = value
    if isinstance(value, str):
        if "." in value:
            module_name, _, name = value.rpartition(".")
            try:
                cls = getattr(importlib.import_module(module_name), name)
            except (ImportError, AttributeError) as exc:
                reason = redact(str(exc))
                raise ImproperlyConfigured(
                    f"MYSQLPOOL_BACKEND = {shown(value)} cannot be imported ({reason}). {valid}"
                ) from (exc if reason == str(exc) else None)  # no chained secret
        else:
            cls = getattr(sa_pool, value, None)
    if not _usable_pool_class(cls):
        reason = "is not a SQLAlchemy pool class"
        if isinstance(cls, type) and issubclass(cls, sa_pool.Pool):
            reason = "is an asyncio pool, which Django's synchronous drivers cannot use"
        unsafe = _unsafe_reason(cls)
        if unsafe:
            reason = (f"cannot be used with Django's threads: {unsafe}. For a single "
                      "connection per process, use QueuePool with "
                      "MYSQLPOOL_ARGUMENTS = {'pool_size': 1, 'max_overflow': 0}")
        raise ImproperlyConfigured(f"MYSQLPOOL_BACKEND = {shown(value)} {reason}. {valid}")
    return cls


def _unsafe_reason(cls: Any) -> str | None:
    if isinstance(cls, type):
        for unsafe, reason in _UNSAFE_CLASSES.items():
            if issubclass(cls, unsafe):
                return reason
    return None


def _usable_pool_class(cls: Any) -> bool:
    return (
        isinstance(cls, type)
        and issubclass(cls, sa_pool.Pool)
        and cls is not sa_pool.Pool
        and not getattr(cls, "_is_asyncio", False)
        and _unsafe_reason(cls) is None
    )


def pool_config(alias: str, settings_dict: Mapping[str, Any], *,
                check_conn_max_age: bool = True) -> PoolConfig | None:
    """The pool settings for ``alias``; None when ``OPTIONS["pool"]`` is False.

    Raises ImproperlyConfigured listing every problem found.
    """
    problems = list(_problems(alias, settings_dict, check_conn_max_age))
    if problems:
        raise ImproperlyConfigured("\n".join(problems))
    return _build(alias, settings_dict)


def check_alias(alias: str, settings_dict: Mapping[str, Any]) -> list[str]:
    """Every problem with the pool settings of ``alias``, as messages."""
    return list(_problems(alias, settings_dict))


def _pool_option(settings_dict: Mapping[str, Any]) -> Any:
    return (settings_dict.get("OPTIONS") or {}).get("pool", True)


def _problems(alias: str, settings_dict: Mapping[str, Any],
              check_conn_max_age: bool = True) -> Iterator[str]:
    where = f"DATABASES[{alias!r}]"
    options = settings_dict.get("OPTIONS") or {}
    if isinstance(options, Mapping):
        # The driver options mysqlpool reads (TLS, use_pure), named with the alias.
        from .drivers.base import option_problems

        yield from option_problems(options, f"{where}['OPTIONS']")
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
    # reset_on_return is the class's, but mysqlpool sets it (see _NOT_ARGUMENTS).
    accepted = (pool_class_arguments(pool_class) - set(_NOT_ARGUMENTS)) | set(OWN_DEFAULTS)
    global_arguments = getattr(settings, "MYSQLPOOL_ARGUMENTS", {})
    sources = [("MYSQLPOOL_ARGUMENTS", global_arguments)]
    if isinstance(option, Mapping):
        sources.append((f"{where}['OPTIONS']['pool']", option))
    for name, arguments in sources:
        if not isinstance(arguments, Mapping):
            yield (
                f"{name} = {shown(arguments)}: must be a dict of {pool_class.__name__} "
                f"arguments, such as {{'pool_size': 10, 'max_overflow': 0}}."
            )
            continue
        for key, value in arguments.items():
            yield from _argument_problems(name, key, value, pool_class, accepted)


def _argument_problems(name: str, key: Any, value: Any, pool_class: type,
                       accepted: set[str]) -> Iterator[str]:
    setting = f"{name}[{shown(key)}]"
    if is_secret_name(key):
        value = MASK  # a password put in the wrong place: name it, never show it
    if key in _NOT_ARGUMENTS:
        yield f"{setting} is not a pool argument: {_NOT_ARGUMENTS[key]}."
    elif key not in accepted:
        yield (
            f"{setting} = {shown(value)}: {pool_class.__name__} has no argument {shown(key)}. "
            f"Valid arguments: {', '.join(sorted(accepted))}."
        )
    else:
        check = _CHECKS.get(key)
        message = check(value) if check else None
        if message:
            yield f"{setting} = {shown(value)}: {key} {message}."


def _build(alias: str, settings_dict: Mapping[str, Any]) -> PoolConfig | None:
    option = _pool_option(settings_dict)
    if option is False:
        return None
    pool_class = resolve_pool_class(getattr(settings, "MYSQLPOOL_BACKEND", DEFAULT_BACKEND))
    arguments = {**OWN_DEFAULTS, **getattr(settings, "MYSQLPOOL_ARGUMENTS", {})}
    if isinstance(option, Mapping):
        arguments.update(option)
    own = {key: arguments.pop(key) for key in OWN_DEFAULTS}
    if "use_lifo" in pool_class_arguments(pool_class):
        # Reuse the connection returned last: it is the one most likely inside
        # the no-ping window, and the others can idle out.
        arguments.setdefault("use_lifo", True)
    defaults = {
        name: parameter.default
        for klass in reversed(pool_class.__mro__)
        if "__init__" in klass.__dict__
        for name, parameter in inspect.signature(klass.__dict__["__init__"]).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    return PoolConfig(
        pool_class=pool_class,
        arguments=tuple(sorted(arguments.items())),
        pool_size=arguments.get("pool_size", defaults.get("pool_size")),
        max_overflow=arguments.get("max_overflow", defaults.get("max_overflow")),
        **own,
    )
